// Dispatch grids are 2-D when a kernel needs more than 65535 workgroups along x: the linear
// workgroup number is wid.x + wid.y · nwg.x.

fn linear_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}
