// Symmetric Li | electrolyte | Li cell (2D): 50 um wide, anode 10 um, electrolyte 20 um and
// cathode 10 um stacked along y, with a lens-shaped void (radius 5 um, height 1 um) in the
// anode at the anode|electrolyte interface.
// Cells: "anode", "electrolyte", "cathode". Facets: "anode_cc" (y = 0), "cathode_cc" (top),
// "sides" (x = 0 and x = W), "void" (the void's walls). femcell.Domain finds the interfaces
// "anode|electrolyte" and "cathode|electrolyte".
// Drawn in micrometres, then scaled to metres before naming: OpenCASCADE's ~1e-7 tolerance
// would blur sub-micron features drawn in metres. Selection boxes have a 0.2 um margin,
// above that tolerance (and far below any feature).
SetFactory("OpenCASCADE");
W = 50; ta = 10; te = 20; tc = 10;  // um
xv = 25; rv = 5; hv = 1;            // void centre, radius and height (um)
H = ta + te + tc;
Rectangle(1) = {0, 0, 0, W, ta};
Rectangle(2) = {0, ta, 0, W, te};
Rectangle(3) = {0, ta + te, 0, W, tc};
Disk(4) = {xv, ta, 0, rv, hv};
Rectangle(5) = {xv - rv, ta - hv, 0, 2 * rv, hv};
BooleanIntersection(6) = { Surface{4}; Delete; }{ Surface{5}; Delete; };  // lower half lens
BooleanDifference(7) = { Surface{1}; Delete; }{ Surface{6}; Delete; };
BooleanFragments{ Surface{7, 2, 3}; Delete; }{}
Dilate {{0, 0, 0}, 1e-6} { Surface{:}; }

um = 1e-6; e = 0.2 * um;
Physical Surface("anode") = Surface In BoundingBox{-e, -e, -e, W*um + e, ta*um + e, e};
Physical Surface("electrolyte") =
  Surface In BoundingBox{-e, ta*um - e, -e, W*um + e, (ta + te)*um + e, e};
Physical Surface("cathode") = Surface In BoundingBox{-e, (ta + te)*um - e, -e, W*um + e, H*um + e, e};
Physical Curve("anode_cc") = Curve In BoundingBox{-e, -e, -e, W*um + e, e, e};
Physical Curve("cathode_cc") = Curve In BoundingBox{-e, H*um - e, -e, W*um + e, H*um + e, e};
Physical Curve("sides") = Curve In BoundingBox{-e, -e, -e, e, H*um + e, e};
Physical Curve("sides") += Curve In BoundingBox{W*um - e, -e, -e, W*um + e, H*um + e, e};
Physical Curve("void") =
  Curve In BoundingBox{(xv - rv)*um - e, (ta - hv)*um - e, -e, (xv + rv)*um + e, ta*um + e, e};

// sizes (m): 4 um in the bulk, 0.5 um at the anode|electrolyte interface and the void
Field[1] = Distance;
Field[1].CurvesList = {Curve In BoundingBox{-e, (ta - hv)*um - e, -e, W*um + e, ta*um + e, e}};
Field[1].Sampling = 400;
Field[2] = Threshold;
Field[2].InField = 1;
Field[2].SizeMin = 0.5 * um; Field[2].SizeMax = 4 * um;
Field[2].DistMin = 0.5 * um; Field[2].DistMax = 8 * um;
Background Field = 2;
Mesh.MeshSizeExtendFromBoundary = 0;
Mesh.MeshSizeFromPoints = 0;
Mesh.MeshSizeMax = 4 * um;
