"""A minimal parallel HDF5 writer over the C library that DOLFINx itself loaded (ctypes).

The pip wheels of h5py are built without MPI and DOLFINx exposes no HDF5 calls to Python,
but every DOLFINx build links a parallel libhdf5. This module finds that library in the
running process and calls the few functions a VTKHDF writer needs: files opened with the
MPI-IO driver, groups, attributes, and chunked datasets that grow along their first axis
and are written collectively, each rank its own block of rows.

All calls are collective over the communicator of the `File`, with the same arguments on
every rank, except the row data passed to `File.write_rows`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
from pathlib import Path

import numpy as np

from femcell._dolfinx import MPI

hid_t = ctypes.c_int64
herr_t = ctypes.c_int
hsize_t = ctypes.c_ulonglong
htri_t = ctypes.c_int

_H5F_ACC_RDWR = 0x0001
_H5F_ACC_TRUNC = 0x0002
_H5S_SCALAR = 0
_H5S_SELECT_SET = 0
_H5S_UNLIMITED = ctypes.c_ulonglong(-1).value
_H5T_STR_NULLTERM = 0
_H5T_VARIABLE = ctypes.c_size_t(-1).value
_H5FD_MPIO_COLLECTIVE = 1
_H5P_DEFAULT = 0

_SIGNATURES = {
    "H5open": (herr_t, []),
    "H5Pcreate": (hid_t, [hid_t]),
    "H5Pclose": (herr_t, [hid_t]),
    "H5Pset_chunk": (herr_t, [hid_t, ctypes.c_int, ctypes.POINTER(hsize_t)]),
    "H5Pset_dxpl_mpio": (herr_t, [hid_t, ctypes.c_int]),
    "H5Fcreate": (hid_t, [ctypes.c_char_p, ctypes.c_uint, hid_t, hid_t]),
    "H5Fopen": (hid_t, [ctypes.c_char_p, ctypes.c_uint, hid_t]),
    "H5Fclose": (herr_t, [hid_t]),
    "H5Gcreate2": (hid_t, [hid_t, ctypes.c_char_p, hid_t, hid_t, hid_t]),
    "H5Gclose": (herr_t, [hid_t]),
    "H5Lexists": (htri_t, [hid_t, ctypes.c_char_p, hid_t]),
    "H5Screate": (hid_t, [ctypes.c_int]),
    "H5Screate_simple": (hid_t, [ctypes.c_int, ctypes.POINTER(hsize_t),
                                 ctypes.POINTER(hsize_t)]),
    "H5Sselect_hyperslab": (herr_t, [hid_t, ctypes.c_int, ctypes.POINTER(hsize_t),
                                     ctypes.POINTER(hsize_t), ctypes.POINTER(hsize_t),
                                     ctypes.POINTER(hsize_t)]),
    "H5Sselect_none": (herr_t, [hid_t]),
    "H5Sget_simple_extent_dims": (ctypes.c_int, [hid_t, ctypes.POINTER(hsize_t),
                                                 ctypes.POINTER(hsize_t)]),
    "H5Sget_simple_extent_ndims": (ctypes.c_int, [hid_t]),
    "H5Sclose": (herr_t, [hid_t]),
    "H5Dcreate2": (hid_t, [hid_t, ctypes.c_char_p, hid_t, hid_t, hid_t, hid_t, hid_t]),
    "H5Dopen2": (hid_t, [hid_t, ctypes.c_char_p, hid_t]),
    "H5Dget_space": (hid_t, [hid_t]),
    "H5Dset_extent": (herr_t, [hid_t, ctypes.POINTER(hsize_t)]),
    "H5Dwrite": (herr_t, [hid_t, hid_t, hid_t, hid_t, hid_t, ctypes.c_void_p]),
    "H5Dclose": (herr_t, [hid_t]),
    "H5Acreate2": (hid_t, [hid_t, ctypes.c_char_p, hid_t, hid_t, hid_t, hid_t]),
    "H5Aopen": (hid_t, [hid_t, ctypes.c_char_p, hid_t]),
    "H5Aexists": (htri_t, [hid_t, ctypes.c_char_p]),
    "H5Awrite": (herr_t, [hid_t, hid_t, ctypes.c_void_p]),
    "H5Aclose": (herr_t, [hid_t]),
    "H5Oopen": (hid_t, [hid_t, ctypes.c_char_p, hid_t]),
    "H5Oclose": (herr_t, [hid_t]),
    "H5Tcopy": (hid_t, [hid_t]),
    "H5Tset_size": (herr_t, [hid_t, ctypes.c_size_t]),
    "H5Tset_strpad": (herr_t, [hid_t, ctypes.c_int]),
    "H5Tclose": (herr_t, [hid_t]),
}


class H5Error(RuntimeError):
    """An HDF5 call failed, or no parallel HDF5 library could be found."""


def _loaded_hdf5() -> list[str]:
    """Paths of the libhdf5 builds mapped into this process (DOLFINx's among them)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    out = []
    for line in maps.splitlines():
        path = line.split()[-1] if line.split() else ""
        name = Path(path).name
        if re.match(r"libhdf5(_[a-z]+)?\.so", name) and path not in out:
            out.append(path)
    return out


class _Lib:
    """The HDF5 C library with typed functions and the native type ids."""

    _instance = None

    def __init__(self):
        found = _loaded_hdf5() + [p for p in [ctypes.util.find_library("hdf5")] if p]
        for path in found:
            lib = ctypes.CDLL(path)
            if hasattr(lib, "H5Pset_fapl_mpio"):
                break
        else:
            raise H5Error("no parallel (MPI) HDF5 library found in this process; tried "
                          f"{', '.join(found) or 'none'} (DOLFINx links one: import it first)")
        for name, (res, args) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        comm_t = ctypes.c_int if MPI._sizeof(MPI.Comm) == ctypes.sizeof(ctypes.c_int) \
            else ctypes.c_void_p
        info_t = ctypes.c_int if MPI._sizeof(MPI.Info) == ctypes.sizeof(ctypes.c_int) \
            else ctypes.c_void_p
        lib.H5Pset_fapl_mpio.restype = herr_t
        lib.H5Pset_fapl_mpio.argtypes = [hid_t, comm_t, info_t]
        self._comm_t, self._info_t = comm_t, info_t
        self.lib = lib
        self.path = path
        self.check(lib.H5open(), "H5open")

        def gid(name):
            return hid_t.in_dll(lib, name).value

        self.types = {
            np.dtype(np.float64): gid("H5T_NATIVE_DOUBLE_g"),
            np.dtype(np.int64): gid("H5T_NATIVE_LLONG_g"),
            np.dtype(np.int32): gid("H5T_NATIVE_INT_g"),
            np.dtype(np.uint8): gid("H5T_NATIVE_UCHAR_g"),
        }
        self.c_s1 = gid("H5T_C_S1_g")
        self.fapl_cls = gid("H5P_CLS_FILE_ACCESS_ID_g")
        self.dcpl_cls = gid("H5P_CLS_DATASET_CREATE_ID_g")
        self.dxpl_cls = gid("H5P_CLS_DATASET_XFER_ID_g")

    @classmethod
    def get(cls) -> _Lib:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    @staticmethod
    def check(value: int, what: str) -> int:
        if value < 0:
            raise H5Error(f"HDF5: {what} failed")
        return value

    def fapl(self, comm) -> int:
        """File access properties: MPI-IO on `comm` (None: default driver), no file locks
        (a reader such as ParaView holding the file open must not stop the run)."""
        fapl = self.check(self.lib.H5Pcreate(self.fapl_cls), "H5Pcreate")
        if comm is not None:
            c = self._comm_t(MPI._handleof(comm))
            i = self._info_t(MPI._handleof(MPI.INFO_NULL))
            self.check(self.lib.H5Pset_fapl_mpio(fapl, c, i), "H5Pset_fapl_mpio")
        if hasattr(self.lib, "H5Pset_file_locking"):  # HDF5 >= 1.10.7 / 1.12.1
            fn = self.lib.H5Pset_file_locking
            fn.restype, fn.argtypes = herr_t, [hid_t, ctypes.c_bool, ctypes.c_bool]
            self.check(fn(fapl, False, True), "H5Pset_file_locking")
        return fapl


def _dims(values) -> ctypes.Array:
    return (hsize_t * len(values))(*[int(v) for v in values])


class File:
    """A parallel HDF5 file (collective open/close; use as a context manager).

    Args:
        comm: MPI communicator; every rank must take part in every call. None: this
            process alone opens the file, without MPI-IO (no other rank may have it open).
        path: file path.
        mode: "w" (create or truncate) or "a" (open an existing file for writing).
    """

    def __init__(self, comm, path, mode: str = "a"):
        self.h5 = _Lib.get()
        self.lib = self.h5.lib
        self.comm = comm
        fapl = self.h5.fapl(comm)
        try:
            name = str(path).encode()
            if mode == "w":
                fid = self.lib.H5Fcreate(name, _H5F_ACC_TRUNC, _H5P_DEFAULT, fapl)
            else:
                fid = self.lib.H5Fopen(name, _H5F_ACC_RDWR, fapl)
            self.fid = self.h5.check(fid, f"open {path}")
        finally:
            self.lib.H5Pclose(fapl)
        self.dxpl = self.h5.check(self.lib.H5Pcreate(self.h5.dxpl_cls), "H5Pcreate")
        if comm is not None:
            self.h5.check(self.lib.H5Pset_dxpl_mpio(self.dxpl, _H5FD_MPIO_COLLECTIVE),
                          "H5Pset_dxpl_mpio")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Close the file (collective)."""
        if getattr(self, "fid", None) is not None:
            self.lib.H5Pclose(self.dxpl)
            self.h5.check(self.lib.H5Fclose(self.fid), "H5Fclose")
            self.fid = None

    # ------------------------------------------------------------------ structure
    def exists(self, name: str) -> bool:
        """True when the absolute path `name` (each parent existing) is a group or dataset."""
        parts = [p for p in name.split("/") if p]
        for k in range(1, len(parts) + 1):
            sub = "/" + "/".join(parts[:k])
            if self.h5.check(self.lib.H5Lexists(self.fid, sub.encode(), _H5P_DEFAULT),
                             f"H5Lexists {sub}") == 0:
                return False
        return True

    def group(self, name: str) -> None:
        """Create the group `name` (absolute path) unless it exists."""
        if not self.exists(name):
            g = self.h5.check(self.lib.H5Gcreate2(self.fid, name.encode(), _H5P_DEFAULT,
                                                  _H5P_DEFAULT, _H5P_DEFAULT), f"group {name}")
            self.lib.H5Gclose(g)

    def attribute(self, obj: str, name: str, value) -> None:
        """Set the attribute `name` of group `obj` to an int array or a string (replaced)."""
        lib, h5 = self.lib, self.h5
        oid = h5.check(lib.H5Oopen(self.fid, obj.encode(), _H5P_DEFAULT), f"open {obj}")
        try:
            exists = h5.check(lib.H5Aexists(oid, name.encode()), "H5Aexists")
            if isinstance(value, str):
                data = value.encode()
                tid = h5.check(lib.H5Tcopy(h5.c_s1), "H5Tcopy")
                lib.H5Tset_size(tid, max(len(data), 1))
                lib.H5Tset_strpad(tid, _H5T_STR_NULLTERM)
                sid = h5.check(lib.H5Screate(_H5S_SCALAR), "H5Screate")
                buf = ctypes.create_string_buffer(data, max(len(data), 1))
                ptr, mem = ctypes.cast(buf, ctypes.c_void_p), tid
            else:
                arr = np.ascontiguousarray(np.atleast_1d(value), dtype=np.int32)
                tid = None
                sid = h5.check(lib.H5Screate_simple(1, _dims(arr.shape), None), "space")
                ptr, mem = arr.ctypes.data_as(ctypes.c_void_p), h5.types[arr.dtype]
            try:
                if exists:
                    aid = h5.check(lib.H5Aopen(oid, name.encode(), _H5P_DEFAULT), "H5Aopen")
                else:
                    aid = h5.check(lib.H5Acreate2(oid, name.encode(), mem, sid, _H5P_DEFAULT,
                                                  _H5P_DEFAULT), f"attribute {name}")
                h5.check(lib.H5Awrite(aid, mem, ptr), f"write attribute {name}")
                lib.H5Aclose(aid)
            finally:
                lib.H5Sclose(sid)
                if tid is not None:
                    lib.H5Tclose(tid)
        finally:
            lib.H5Oclose(oid)

    def string_dataset(self, name: str, values: list[str]) -> None:
        """Create a 1D dataset of variable-length ASCII strings, as VTK writes them.

        Only on a file opened with ``comm=None`` (one process, no MPI-IO): parallel HDF5
        cannot write variable-length data collectively.
        """
        if self.comm is not None:
            raise H5Error("string datasets need a file opened by one process (comm=None)")
        lib, h5 = self.lib, self.h5
        data = (ctypes.c_char_p * max(len(values), 1))(*[v.encode() for v in values])
        tid = h5.check(lib.H5Tcopy(h5.c_s1), "H5Tcopy")
        lib.H5Tset_size(tid, _H5T_VARIABLE)
        sid = h5.check(lib.H5Screate_simple(1, _dims([len(values)]), None), "space")
        try:
            did = h5.check(lib.H5Dcreate2(self.fid, name.encode(), tid, sid, _H5P_DEFAULT,
                                          _H5P_DEFAULT, _H5P_DEFAULT), f"dataset {name}")
            h5.check(lib.H5Dwrite(did, tid, sid, sid, _H5P_DEFAULT,
                                  ctypes.cast(data, ctypes.c_void_p)), f"write {name}")
            lib.H5Dclose(did)
        finally:
            lib.H5Sclose(sid)
            lib.H5Tclose(tid)

    def dataset(self, name: str, dtype, width: int = 0, chunk_rows: int = 4096) -> None:
        """Create an empty chunked dataset with rows of `width` values (0: a 1D dataset)
        that grows along its first axis."""
        lib, h5 = self.lib, self.h5
        shape = [0] if width == 0 else [0, width]
        maxshape = [_H5S_UNLIMITED] + shape[1:]
        chunk = [max(1, chunk_rows)] + shape[1:]
        sid = h5.check(lib.H5Screate_simple(len(shape), _dims(shape), _dims(maxshape)),
                       "space")
        dcpl = h5.check(lib.H5Pcreate(h5.dcpl_cls), "H5Pcreate")
        try:
            h5.check(lib.H5Pset_chunk(dcpl, len(chunk), _dims(chunk)), "H5Pset_chunk")
            did = h5.check(lib.H5Dcreate2(self.fid, name.encode(),
                                          h5.types[np.dtype(dtype)], sid, _H5P_DEFAULT,
                                          dcpl, _H5P_DEFAULT), f"dataset {name}")
            lib.H5Dclose(did)
        finally:
            lib.H5Pclose(dcpl)
            lib.H5Sclose(sid)

    def rows(self, name: str) -> int:
        """Current length of the first axis of dataset `name`."""
        lib, h5 = self.lib, self.h5
        did = h5.check(lib.H5Dopen2(self.fid, name.encode(), _H5P_DEFAULT), f"open {name}")
        try:
            sid = h5.check(lib.H5Dget_space(did), "H5Dget_space")
            nd = lib.H5Sget_simple_extent_ndims(sid)
            dims = (hsize_t * max(nd, 1))()
            lib.H5Sget_simple_extent_dims(sid, dims, None)
            lib.H5Sclose(sid)
            return int(dims[0])
        finally:
            lib.H5Dclose(did)

    def append(self, name: str, local: np.ndarray, offset: int, total: int) -> int:
        """Append `total` rows to dataset `name` (collective); this rank writes its `local`
        rows at positions offset.. of the new block. Returns the row where the block starts.
        """
        lib, h5 = self.lib, self.h5
        did = h5.check(lib.H5Dopen2(self.fid, name.encode(), _H5P_DEFAULT), f"open {name}")
        try:
            sid = h5.check(lib.H5Dget_space(did), "H5Dget_space")
            nd = lib.H5Sget_simple_extent_ndims(sid)
            dims = (hsize_t * nd)()
            lib.H5Sget_simple_extent_dims(sid, dims, None)
            lib.H5Sclose(sid)
            start = int(dims[0])
            width = [int(d) for d in dims[1:]]
            new = [start + int(total)] + width
            h5.check(lib.H5Dset_extent(did, _dims(new)), f"extend {name}")
            dtype = _dtype_of(local, name)
            arr = np.ascontiguousarray(local, dtype=dtype).reshape([-1] + width)
            fsid = h5.check(lib.H5Dget_space(did), "H5Dget_space")
            count = [arr.shape[0]] + width
            msid = h5.check(lib.H5Screate_simple(nd, _dims(count), None), "space")
            try:
                if arr.shape[0] == 0:
                    lib.H5Sselect_none(fsid)
                    lib.H5Sselect_none(msid)
                else:
                    first = [start + int(offset)] + [0] * len(width)
                    h5.check(lib.H5Sselect_hyperslab(fsid, _H5S_SELECT_SET, _dims(first),
                                                     None, _dims(count), None), "hyperslab")
                h5.check(lib.H5Dwrite(did, h5.types[arr.dtype], msid, fsid, self.dxpl,
                                      arr.ctypes.data_as(ctypes.c_void_p)), f"write {name}")
            finally:
                lib.H5Sclose(msid)
                lib.H5Sclose(fsid)
            return start
        finally:
            lib.H5Dclose(did)


def _dtype_of(arr: np.ndarray, name: str):
    dt = np.asarray(arr).dtype
    if dt.kind == "f":
        return np.float64
    if dt == np.uint8:
        return np.uint8
    if dt.kind in "iu":
        return np.int64
    raise H5Error(f"{name}: unsupported dtype {dt}")


def append_distributed(f: File, name: str, local: np.ndarray) -> int:
    """Append each rank's rows to dataset `name` in rank order (collective).

    Returns the row where this block starts in the dataset.
    """
    n = int(np.asarray(local).shape[0]) if np.ndim(local) else 1
    offset = f.comm.exscan(n, op=MPI.SUM) or 0
    total = f.comm.allreduce(n, op=MPI.SUM)
    return f.append(name, local, offset, total)


def append_root(f: File, name: str, values) -> int:
    """Append rows given on rank 0 (all ranks call it; other ranks' values are ignored)."""
    arr = np.atleast_1d(np.asarray(values))
    total = f.comm.bcast(arr.shape[0] if f.comm.rank == 0 else None, root=0)
    local = arr if f.comm.rank == 0 else arr[:0]
    return f.append(name, local, 0, total)
