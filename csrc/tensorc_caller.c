/*
 * tensorc_caller.c -- the per-call path of a one-segment function in C, included by
 * tensorc_ext.c after tensorc_segment.c.
 *
 * A compiled function whose program is one segment of kernels (x + y, a fused chain, a
 * reduction) spent most of a small call in Python: the argument checks, copying the
 * storage template, a lock, the cffi call, picking the result.  tc_make_caller builds a
 * builtin callable (METH_FASTCALL, state in a capsule) that does all of it:
 *   - every argument must be exactly an ndarray of the compiled numpy type number and
 *     rank, in native byte order; otherwise, and for any failure of the segment (bad
 *     shapes, a kernel error), it returns the `fallback` object and the Python call path
 *     runs again, converting or reporting the error with the inputs named;
 *   - the storage list is a fresh copy of the template (constants), the arguments go into
 *     its first slots, and tc_segment_prepare binds, allocates and fills exactly as
 *     tc_run_segment does;
 *   - the kernels run without the GIL unless every array of the segment is small;
 *   - one call at a time: the segment's lock (tc_lock_new) is shared with the Python
 *     path, which takes it in tc_run_segment_locked; the caller waits for it without the GIL.
 */
#ifndef TC_NO_NUMPY
#include <pythread.h>

/* Elements below which the kernels keep the GIL (releasing and taking it back costs
 * more than running them). */
#define TC_CALLER_GIL_ELEMS 4096

typedef struct tc_caller {
    tc_program *prog;
    const tc_segment *seg;
    PyThread_type_lock lock;
    PyObject *template_; /* list: the storage template (constants, None elsewhere) */
    PyObject *cache;     /* list: the segment's recycled arrays */
    PyObject *keep;      /* keeps prog, seg and lock alive */
    PyObject *fallback;  /* returned when the Python path must take the call */
    int32_t *failed;
    int32_t n_in, n_out, unpack;
    int32_t in_type[TC_MAX_STEP_ARGS], in_ndim[TC_MAX_STEP_ARGS], out_slot[TC_MAX_STEP_ARGS];
} tc_caller;

void *tc_lock_new(void) { return PyThread_allocate_lock(); }
void tc_lock_free(void *lock) {
    if (lock) PyThread_free_lock((PyThread_type_lock)lock);
}

/* tc_run_segment under the segment's lock; called through cffi, so without the GIL. */
int tc_run_segment_locked(void *lock, tc_program *prog, const tc_segment *seg,
                          uintptr_t storage, uintptr_t cache, int32_t *failed_step) {
    PyThread_acquire_lock((PyThread_type_lock)lock, WAIT_LOCK);
    int err = tc_run_segment(prog, seg, storage, cache, failed_step);
    PyThread_release_lock((PyThread_type_lock)lock);
    return err;
}

/* The segment's lock for the Python error path (which re-runs the segment in Python). */
void tc_lock_acquire(void *lock) { PyThread_acquire_lock((PyThread_type_lock)lock, WAIT_LOCK); }
void tc_lock_release(void *lock) { PyThread_release_lock((PyThread_type_lock)lock); }

static void tc_caller_free(PyObject *capsule) {
    tc_caller *c = (tc_caller *)PyCapsule_GetPointer(capsule, NULL);
    if (c == NULL) return;
    Py_XDECREF(c->template_);
    Py_XDECREF(c->cache);
    Py_XDECREF(c->keep);
    Py_XDECREF(c->fallback);
    PyMem_Free(c);
}

static tc_intp tc_caller_largest(const tc_program *prog, const tc_segment *seg) {
    tc_intp most = 0;
    for (int32_t i = 0; i < seg->nslots; i++) {
        const tc_arg *a = &prog->slots[i];
        tc_intp n = 1;
        for (int d = 0; d < a->ndim; d++) n *= a->shape[d];
        if (n > most) most = n;
    }
    return most;
}

static PyObject *tc_caller_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    tc_caller *c = (tc_caller *)PyCapsule_GetPointer(self, NULL);
    if (c == NULL) return NULL;
    if (nargs != c->n_in) goto fallback;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyObject *a = args[i];
        if (Py_TYPE(a) != &PyArray_Type) goto fallback;
        PyArrayObject *arr = (PyArrayObject *)a;
        PyArray_Descr *d = PyArray_DESCR(arr);
        if (PyArray_NDIM(arr) != c->in_ndim[i] || d->type_num != c->in_type[i] || d->byteorder == '>')
            goto fallback;
    }
    if (!PyThread_acquire_lock(c->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(c->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    PyObject *storage = PyList_GetSlice(c->template_, 0, PY_SSIZE_T_MAX);
    if (storage == NULL) {
        PyThread_release_lock(c->lock);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyList_SetItem(storage, i, args[i]); /* steals; drops the template's None */
    }
    int err = tc_segment_prepare(c->prog, c->seg, storage, c->cache);
    if (err) {
        *c->failed = -1;
    } else if (tc_caller_largest(c->prog, c->seg) <= TC_CALLER_GIL_ELEMS) {
        err = tc_run_program(c->prog, c->failed);
    } else {
        Py_BEGIN_ALLOW_THREADS
        err = tc_run_program(c->prog, c->failed);
        Py_END_ALLOW_THREADS
    }
    PyThread_release_lock(c->lock);
    if (err) {
        Py_DECREF(storage);
        goto fallback;
    }
    PyObject *result;
    if (c->unpack) {
        result = PyList_GET_ITEM(storage, c->out_slot[0]);
        Py_INCREF(result);
    } else {
        result = PyList_New(c->n_out);
        for (int32_t k = 0; result != NULL && k < c->n_out; k++) {
            PyObject *o = PyList_GET_ITEM(storage, c->out_slot[k]);
            Py_INCREF(o);
            PyList_SET_ITEM(result, k, o);
        }
    }
    Py_DECREF(storage);
    return result;
fallback:
    Py_INCREF(c->fallback);
    return c->fallback;
}

static PyMethodDef tc_caller_def = {
    "tensorc_call", (PyCFunction)(void (*)(void))tc_caller_call, METH_FASTCALL,
    "Call a one-segment compiled function (see tensorc/backend/c/caller.py)."};

int tc_make_caller(uintptr_t holder, tc_program *prog, const tc_segment *seg, void *lock,
                   uintptr_t template_, uintptr_t cache, uintptr_t keep, uintptr_t fallback,
                   int32_t *failed, int32_t n_in, const int32_t *in_type,
                   const int32_t *in_ndim, int32_t n_out, const int32_t *out_slot,
                   int32_t unpack) {
    if (n_in < 0 || n_in > TC_MAX_STEP_ARGS || n_out < 1 || n_out > TC_MAX_STEP_ARGS ||
        lock == NULL)
        return TC_ERROR(TC_ERR_INTERNAL, 0);
    PyGILState_STATE g = PyGILState_Ensure();
    int err = TC_ERROR(TC_ERR_INTERNAL, 0);
    PyObject *list = (PyObject *)holder, *tmpl = (PyObject *)template_, *cch = (PyObject *)cache;
    if (!tc_numpy_ready() || !PyList_Check(list) || !PyList_Check(tmpl) || !PyList_Check(cch) ||
        PyList_GET_SIZE(tmpl) < n_in)
        goto done;
    for (int32_t k = 0; k < n_out; k++)
        if (out_slot[k] < 0 || out_slot[k] >= PyList_GET_SIZE(tmpl)) goto done;
    tc_caller *c = (tc_caller *)PyMem_Calloc(1, sizeof(tc_caller));
    if (c == NULL) goto done;
    c->prog = prog;
    c->seg = seg;
    c->lock = (PyThread_type_lock)lock;
    c->failed = failed;
    c->n_in = n_in;
    c->n_out = n_out;
    c->unpack = unpack && n_out == 1;
    memcpy(c->in_type, in_type, sizeof(int32_t) * (size_t)n_in);
    memcpy(c->in_ndim, in_ndim, sizeof(int32_t) * (size_t)n_in);
    memcpy(c->out_slot, out_slot, sizeof(int32_t) * (size_t)n_out);
    c->template_ = tmpl;
    c->cache = cch;
    c->keep = (PyObject *)keep;
    c->fallback = (PyObject *)fallback;
    Py_INCREF(c->template_);
    Py_INCREF(c->cache);
    Py_INCREF(c->keep);
    Py_INCREF(c->fallback);
    PyObject *capsule = PyCapsule_New(c, NULL, tc_caller_free);
    if (capsule == NULL) {
        Py_DECREF(c->template_);
        Py_DECREF(c->cache);
        Py_DECREF(c->keep);
        Py_DECREF(c->fallback);
        PyMem_Free(c);
        goto done;
    }
    PyObject *fn = PyCFunction_New(&tc_caller_def, capsule);
    Py_DECREF(capsule);
    if (fn != NULL && PyList_Append(list, fn) == 0) err = 0;
    Py_XDECREF(fn);
done:
    if (PyErr_Occurred()) PyErr_Clear();
    PyGILState_Release(g);
    return err;
}

#else

void *tc_lock_new(void) { return NULL; }
void tc_lock_free(void *lock) { (void)lock; }
void tc_lock_acquire(void *lock) { (void)lock; }
void tc_lock_release(void *lock) { (void)lock; }
int tc_run_segment_locked(void *lock, tc_program *prog, const tc_segment *seg,
                          uintptr_t storage, uintptr_t cache, int32_t *failed_step) {
    (void)lock;
    return tc_run_segment(prog, seg, storage, cache, failed_step);
}
int tc_make_caller(uintptr_t holder, tc_program *prog, const tc_segment *seg, void *lock,
                   uintptr_t template_, uintptr_t cache, uintptr_t keep, uintptr_t fallback,
                   int32_t *failed, int32_t n_in, const int32_t *in_type,
                   const int32_t *in_ndim, int32_t n_out, const int32_t *out_slot,
                   int32_t unpack) {
    (void)holder; (void)prog; (void)seg; (void)lock; (void)template_; (void)cache; (void)keep;
    (void)fallback; (void)failed; (void)n_in; (void)in_type; (void)in_ndim; (void)n_out;
    (void)out_slot; (void)unpack;
    return TC_ERROR(TC_ERR_INTERNAL, 0);
}

#endif
