/*
 * tensorc_ext.c -- body of the cffi API-mode extension tensorc._ext (see
 * tensorc_ext.h).  Compiled into the cffi module by setup.py, so Python.h is
 * already included; cffi releases the GIL around every call, and the binding
 * functions take it back (PyGILState_Ensure) only while reading buffers.
 */
#define TC_NO_LIBMVEC 1 /* no -fopenmp-simd here: keep plain libm declarations */
#include <dlfcn.h>
#include <string.h>
#include "tensorc_ext.h"
#include "tensorc_pool.c" /* tc_parallel, tc_install_pool, tc_pool_threads */
#include "tensorc_ew.c"   /* tc_ew_run_impl: the elementwise driver kernels call through a hook */
#define TC_RED_IN_EXT 1
#include "tensorc_reduce.c" /* tc_red_cols_impl, tc_install_red: the reductions' column driver */

/* The elementwise driver's layout version (kernels are rendered for it only when equal). */
int tc_ew_driver_abi(void) { return TC_EW_ABI; }

/* Point a freshly loaded kernel library's tc_ew_run_hook at this extension's driver:
 * 1 done, 0 the library has no hook (it carries its own driver), -1 other layout. */
int tc_install_ew(void *handle) {
    typedef int (*run_fn)(tc_ew_call *, tc_intp, tc_intp);
    run_fn *hook = (run_fn *)dlsym(handle, "tc_ew_run_hook");
    const int *abi = (const int *)dlsym(handle, "tc_ew_abi");
    if (!hook) return 0;
    if (!abi || *abi != TC_EW_ABI) return -1;
    *hook = tc_ew_run_impl;
    return 1;
}

/* With numpy's headers (the normal build) arrays are read through the numpy C
 * API: ~10 ns per array instead of ~500 ns through the buffer protocol, whose
 * numpy implementation builds a format string every time.  Anything that is
 * not a native-byte-order ndarray goes through the buffer protocol. */
#ifndef TC_NO_NUMPY
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
static int tc_numpy_state = 0; /* 0 unknown, 1 imported, -1 unavailable */

static int tc_numpy_ready(void) {
    if (tc_numpy_state == 0) {
        tc_numpy_state = _import_array() < 0 ? -1 : 1;
        if (tc_numpy_state < 0) PyErr_Clear();
    }
    return tc_numpy_state > 0;
}

static char tc_numpy_kind(char kind) {
    switch (kind) {
        case 'f': case 'i': case 'u': case 'b': case 'c': return kind;
        default: return '?';
    }
}

/* Returns -1 when obj must take the buffer-protocol path. */
static int tc_bind_numpy(tc_arg *a, tc_intp *shape, tc_intp *strides, PyObject *obj,
                         const tc_slot_spec *spec) {
    if (!tc_numpy_ready() || !PyArray_Check(obj)) return -1;
    PyArrayObject *arr = (PyArrayObject *)obj;
    PyArray_Descr *descr = PyArray_DESCR(arr);
    if (descr->byteorder == '>') return -1;
    int nd = PyArray_NDIM(arr);
    if (nd > TC_MAX_NDIM) return TC_ERR_NDIM;
    if (spec) {
        if (spec->ndim >= 0 && nd != spec->ndim) return TC_ERR_NDIM;
        if (spec->itemsize && PyArray_ITEMSIZE(arr) != spec->itemsize) return TC_ERR_DTYPE;
        if (spec->kind && tc_numpy_kind(descr->kind) != spec->kind) return TC_ERR_DTYPE;
        if (spec->writable && !PyArray_ISWRITEABLE(arr)) return TC_ERR_READONLY;
    }
    const npy_intp *dims = PyArray_DIMS(arr), *st = PyArray_STRIDES(arr);
    for (int d = 0; d < nd; d++) {
        shape[d] = dims[d];
        strides[d] = st[d];
    }
    a->data = PyArray_BYTES(arr);
    a->shape = shape;
    a->strides = strides;
    a->ndim = nd;
    return TC_OK;
}
#endif

_Static_assert(sizeof(Py_ssize_t) == sizeof(tc_intp), "tc_intp must match Py_ssize_t");

int tc_run_program(const tc_program *prog, int32_t *failed_step) {
    tc_arg argv[TC_MAX_STEP_ARGS];
    for (int32_t s = 0; s < prog->nsteps; s++) {
        const tc_step *st = &prog->steps[s];
        if (st->nargs > TC_MAX_STEP_ARGS) {
            *failed_step = s;
            return TC_ERROR(TC_ERR_INTERNAL, 0);
        }
        const int32_t *idx = prog->argidx + st->first;
        for (int32_t j = 0; j < st->nargs; j++) argv[j] = prog->slots[idx[j]];
        int err = st->fn(argv);
        if (err) {
            *failed_step = s;
            return err;
        }
    }
    *failed_step = -1;
    return 0;
}

static char tc_format_kind(const char *fmt) {
    if (fmt == NULL) return 'u'; /* plain bytes */
    while (*fmt == '@' || *fmt == '=' || *fmt == '<' || *fmt == '|') fmt++;
    switch (*fmt) {
        case 'e': case 'f': case 'd': case 'g': return 'f';
        case 'b': case 'h': case 'i': case 'l': case 'q': case 'n': return 'i';
        case 'B': case 'H': case 'I': case 'L': case 'Q': case 'N': return 'u';
        case '?': return 'b';
        case 'Z': return 'c';
        default: return '?'; /* big-endian, structured, object ... */
    }
}

/* Fill slot `slot` from obj.  Needs the GIL.  Returns a TC_ERR_* code. */
static int tc_bind_one(tc_program *prog, int32_t slot, PyObject *obj, const tc_slot_spec *spec) {
#ifndef TC_NO_NUMPY
    {
        tc_intp *shape = prog->dims + (size_t)slot * 2 * TC_MAX_NDIM;
        int r = tc_bind_numpy(&prog->slots[slot], shape, shape + TC_MAX_NDIM, obj, spec);
        if (r >= 0) return r;
    }
#endif
    Py_buffer view;
    int flags = PyBUF_STRIDES | PyBUF_FORMAT | (spec && spec->writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &view, flags) != 0) {
        int readonly = PyObject_CheckBuffer(obj) && spec && spec->writable;
        PyErr_Clear();
        return readonly ? TC_ERR_READONLY : TC_ERR_NOTARRAY;
    }
    int err = TC_OK;
    if (view.ndim > TC_MAX_NDIM) err = TC_ERR_NDIM;
    else if (spec && spec->ndim >= 0 && view.ndim != spec->ndim) err = TC_ERR_NDIM;
    else if (spec && spec->itemsize && view.itemsize != spec->itemsize) err = TC_ERR_DTYPE;
    else if (spec && spec->kind && tc_format_kind(view.format) != spec->kind) err = TC_ERR_DTYPE;
    if (err == TC_OK) {
        tc_arg *a = &prog->slots[slot];
        tc_intp *shape = prog->dims + (size_t)slot * 2 * TC_MAX_NDIM;
        tc_intp *strides = shape + TC_MAX_NDIM;
        for (int d = 0; d < view.ndim; d++) {
            shape[d] = view.shape[d];
            strides[d] = view.strides[d];
        }
        a->data = (char *)view.buf;
        a->shape = shape;
        a->strides = strides;
        a->ndim = view.ndim;
    }
    PyBuffer_Release(&view);
    return err;
}

static int tc_bind_locked(tc_program *prog, PyObject *seq, int32_t first, int32_t n,
                          const tc_slot_spec *specs) {
    if (!(PyList_Check(seq) || PyTuple_Check(seq)) || PySequence_Fast_GET_SIZE(seq) < n)
        return TC_ERROR(TC_ERR_INTERNAL, 0);
    if (first < 0 || first + n > prog->nslots) return TC_ERROR(TC_ERR_INTERNAL, 0);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (int32_t i = 0; i < n; i++) {
        int err = tc_bind_one(prog, first + i, items[i], specs ? &specs[i] : NULL);
        if (err) return TC_ERROR(err, first + i);
    }
    return 0;
}

int tc_bind(tc_program *prog, uintptr_t seq, int32_t first_slot, int32_t n,
            const tc_slot_spec *specs) {
    PyGILState_STATE g = PyGILState_Ensure();
    int err = tc_bind_locked(prog, (PyObject *)seq, first_slot, n, specs);
    PyGILState_Release(g);
    return err;
}

int tc_call(tc_program *prog, uintptr_t seq, int32_t n, const tc_slot_spec *specs,
            int32_t *failed_step) {
    int err = tc_bind(prog, seq, 0, n, specs);
    if (err) {
        *failed_step = -1;
        return err;
    }
    return tc_run_program(prog, failed_step);
}

#include "tensorc_segment.c" /* tc_run_segment */
#include "tensorc_gemm.c"    /* tc_gemm: small and mid-size products on the pool */
#include "tensorc_caller.c"  /* tc_make_caller, tc_run_segment_locked, tc_lock_* */

void *tc_dlopen(const char *path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }
void *tc_dlsym(void *handle, const char *name) { return dlsym(handle, name); }
const char *tc_dlerror(void) { return dlerror(); }
