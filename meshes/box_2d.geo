// A 10 um x 4 um rectangle: cell region "slab", facet regions "left" and "right" (metres).
SetFactory("OpenCASCADE");
Rectangle(1) = {0, 0, 0, 10e-6, 4e-6};
Physical Surface("slab") = {1};
Physical Curve("left") = {4};
Physical Curve("right") = {2};
Mesh.MeshSizeMax = 0.5e-6;
