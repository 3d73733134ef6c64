// Composite cathode (2D): three active particles (radius 3 um) in a 30 um x 20 um
// electrolyte matrix above a 5 um particle-free separator.
// Cells: "electrolyte" and "active.particle_0" .. "active.particle_2", which together form
// the region "active". Facets: "separator" (y = 0), "cathode_cc" (top), "sides".
// femcell.Domain finds the interface "active|electrolyte".
// Drawn in micrometres and scaled to metres before naming (see symmetric_cell_2d.geo).
SetFactory("OpenCASCADE");
W = 30; s = 5; L = 20; r = 3;  // um
Rectangle(1) = {0, 0, 0, W, s + L};
Disk(2) = {7, s + 6, 0, r};
Disk(3) = {20, s + 9, 0, r};
Disk(4) = {11, s + 15, 0, r};
BooleanFragments{ Surface{1}; Delete; }{ Surface{2, 3, 4}; Delete; }
Dilate {{0, 0, 0}, 1e-6} { Surface{:}; }

um = 1e-6; e = 0.2 * um;
p0() = Surface In BoundingBox{4*um - e, (s + 3)*um - e, -e, 10*um + e, (s + 9)*um + e, e};
p1() = Surface In BoundingBox{17*um - e, (s + 6)*um - e, -e, 23*um + e, (s + 12)*um + e, e};
p2() = Surface In BoundingBox{8*um - e, (s + 12)*um - e, -e, 14*um + e, (s + 18)*um + e, e};
matrix() = Surface{:};
matrix() -= {p0(), p1(), p2()};
Physical Surface("active.particle_0") = p0();
Physical Surface("active.particle_1") = p1();
Physical Surface("active.particle_2") = p2();
Physical Surface("electrolyte") = matrix();
Physical Curve("separator") = Curve In BoundingBox{-e, -e, -e, W*um + e, e, e};
Physical Curve("cathode_cc") = Curve In BoundingBox{-e, (s + L)*um - e, -e, W*um + e, (s + L)*um + e, e};
Physical Curve("sides") = Curve In BoundingBox{-e, -e, -e, e, (s + L)*um + e, e};
Physical Curve("sides") += Curve In BoundingBox{W*um - e, -e, -e, W*um + e, (s + L)*um + e, e};
Mesh.MeshSizeMax = 1.5 * um;
Mesh.MeshSizeFromCurvature = 24;  // elements per 2 pi of particle surface
