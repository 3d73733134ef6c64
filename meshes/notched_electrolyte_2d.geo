// Notched solid-electrolyte slab (2D): a 40 um x 20 um "electrolyte" with a U-notch (1 um
// wide, round tip) entering 6 um from the anode side at x = 20 um.
// Facets: "anode_side" (y = 0), "cathode_side" (y = T), "sides", "notch" (the notch walls).
// Drawn in micrometres and scaled to metres before naming (see symmetric_cell_2d.geo);
// refined around the tip and along the expected crack path ahead of it.
SetFactory("OpenCASCADE");
W = 40; T = 20;            // slab (um)
x0 = 20; a = 6; rho = 0.5; // notch position, length (mouth to apex) and tip radius (um)
Rectangle(1) = {0, 0, 0, W, T};
Rectangle(2) = {x0 - rho, -1, 0, 2 * rho, a - rho + 1};
Disk(3) = {x0, a - rho, 0, rho};
BooleanDifference{ Surface{1}; Delete; }{ Surface{2, 3}; Delete; }
Dilate {{0, 0, 0}, 1e-6} { Surface{:}; }

um = 1e-6; e = 0.2 * um;
Physical Surface("electrolyte") = Surface{:};
Physical Curve("anode_side") = Curve In BoundingBox{-e, -e, -e, W*um + e, e, e};
Physical Curve("cathode_side") = Curve In BoundingBox{-e, T*um - e, -e, W*um + e, T*um + e, e};
Physical Curve("sides") = Curve In BoundingBox{-e, -e, -e, e, T*um + e, e};
Physical Curve("sides") += Curve In BoundingBox{W*um - e, -e, -e, W*um + e, T*um + e, e};
Physical Curve("notch") =
  Curve In BoundingBox{(x0 - rho)*um - e, -e, -e, (x0 + rho)*um + e, a*um + e, e};

// sizes (m): 2 um away, 0.1 um at the tip and 6 um along the path ahead of it
Field[1] = Box;
Field[1].VIn = 0.1 * um; Field[1].VOut = 2 * um;
Field[1].XMin = (x0 - 2 * rho) * um; Field[1].XMax = (x0 + 2 * rho) * um;
Field[1].YMin = (a - 2 * rho) * um; Field[1].YMax = (a + 6) * um;
Field[1].Thickness = 3 * um;
Background Field = 1;
Mesh.MeshSizeExtendFromBoundary = 0;
Mesh.MeshSizeFromPoints = 0;
Mesh.MeshSizeMax = 2 * um;
