"""Utilities with the reference's module paths: ``analog_info`` (``analog_summary``) and
``visualization`` (device response plots)."""
