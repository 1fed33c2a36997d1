/*
 * tensorc_caller.c -- the per-call path of a compiled function in C, included by
 * tensorc_ext.c after tensorc_segment.c.
 *
 * A small call used to spend most of its time in Python: the argument checks, reading
 * shared variables, copying the storage template, a lock, a cffi call per segment, the
 * BLAS steps, writing the updates, picking the result.  tc_make_caller builds a builtin
 * callable (METH_FASTCALL, state in a capsule) that does all of it for programs made of
 * kernel segments, matrix products (numpy's matmul into recycled buffers) and
 * dimshuffle views -- the programs of elementwise chains, reductions, dense layers and
 * training steps:
 *   - every argument and shared value must be exactly an ndarray of the compiled numpy
 *     type number and rank, in native byte order; otherwise, and for any failure of a step
 *     (bad shapes, a kernel error), it returns the `fallback` object and the Python call
 *     path runs the whole call again, converting or reporting the error with the inputs
 *     named (nothing but recycled buffers was written before the updates);
 *   - the storage list is a fresh copy of the template (constants), the arguments and
 *     shared values go into its first slots, and tc_segment_prepare binds, allocates and
 *     fills each segment exactly as tc_run_segment does;
 *   - kernels run without the GIL unless every array of the segment is small;
 *   - programs with BLAS steps keep their loops off the thread pool (tc_pool_serial);
 *   - one call at a time: the function's lock (tc_lock_new) is shared with the Python
 *     path; the caller waits for it without the GIL;
 *   - update values replace the shared containers' values after every step has run.
 */
#ifndef TC_NO_NUMPY
#include <pythread.h>

/* Elements below which the kernels keep the GIL (releasing and taking it back costs
 * more than running them). */
#define TC_CALLER_GIL_ELEMS 4096

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

/* One step of a caller's program.  Slots index the call's storage list. */
enum { TC_STEP_SEGMENT = 0, TC_STEP_MATMUL = 1, TC_STEP_VIEW = 2 };
typedef struct tc_cstep {
    int32_t kind;
    tc_program *prog;      /* SEGMENT: its kernel program and segment */
    const tc_segment *seg;
    PyObject *cache;       /* SEGMENT: recycled outputs; MATMUL: its two recycled outputs */
    int32_t a, b, out;     /* MATMUL: out = a @ b; VIEW: out = view of a */
    int32_t type_num;      /* MATMUL: dtype of a, b and out */
    int32_t gemm;          /* MATMUL: tc_gemm may take it (else always numpy's matmul) */
    int32_t ndim;          /* VIEW: rank of a */
    PyArray_Dims perm;     /* VIEW: transpose axes (len 0: none) */
    npy_intp axes[TC_MAX_NDIM];
    PyObject *index;       /* VIEW: index tuple applied after the transpose, or NULL */
} tc_cstep;

typedef struct tc_caller {
    PyThread_type_lock lock;
    PyObject *template_;   /* list: the storage template (constants, None elsewhere) */
    PyObject *keep;        /* keeps the programs, segments, lock and their arrays alive */
    PyObject *fallback;    /* returned when the Python path must take the call */
    PyObject *shared;      /* tuple of containers read into slots n_in.. (.value) */
    PyObject *updates;     /* tuple of containers whose .value the update outputs replace */
    PyObject *matmul;      /* numpy.matmul */
    PyObject *out_kw;      /* ("out",) */
    int32_t n_in, n_shared, n_out, n_upd, unpack, blas_serial, nsteps;
    int32_t in_type[TC_MAX_STEP_ARGS], in_ndim[TC_MAX_STEP_ARGS];
    int32_t out_slot[TC_MAX_STEP_ARGS];
    tc_cstep *steps;
} tc_caller;

static PyObject *tc_value_str = NULL; /* interned "value" */

static void tc_caller_free(PyObject *capsule) {
    tc_caller *c = (tc_caller *)PyCapsule_GetPointer(capsule, NULL);
    if (c == NULL) return;
    for (int32_t k = 0; c->steps != NULL && k < c->nsteps; k++) {
        Py_XDECREF(c->steps[k].cache);
        Py_XDECREF(c->steps[k].index);
    }
    PyMem_Free(c->steps);
    Py_XDECREF(c->template_);
    Py_XDECREF(c->keep);
    Py_XDECREF(c->fallback);
    Py_XDECREF(c->shared);
    Py_XDECREF(c->updates);
    Py_XDECREF(c->matmul);
    Py_XDECREF(c->out_kw);
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

/* 1 when obj is exactly an ndarray of numpy type type_num and rank ndim, native order. */
static int tc_exact_array(PyObject *obj, int32_t type_num, int32_t ndim) {
    if (Py_TYPE(obj) != &PyArray_Type) return 0;
    PyArrayObject *arr = (PyArrayObject *)obj;
    PyArray_Descr *d = PyArray_DESCR(arr);
    return PyArray_NDIM(arr) == ndim && d->type_num == type_num && d->byteorder != '>';
}

static int tc_step_segment(const tc_cstep *st, PyObject *storage) {
    int32_t failed = 0;
    int err = tc_segment_prepare(st->prog, st->seg, storage, st->cache);
    if (err) return err;
    if (tc_caller_largest(st->prog, st->seg) <= TC_CALLER_GIL_ELEMS)
        return tc_run_program(st->prog, &failed);
    Py_BEGIN_ALLOW_THREADS
    err = tc_run_program(st->prog, &failed);
    Py_END_ALLOW_THREADS
    return err;
}

/* out = a @ b by tc_gemm (tensorc_gemm.c) without the GIL: 0 done, 1 not taken.  Only
 * 2-d float32/float64 products whose shapes tc_gemm_fits accepts; out is C-contiguous. */
static int tc_matmul_gemm(PyArrayObject *x, PyArrayObject *y, PyArrayObject *out, int type_num) {
    if (PyArray_NDIM(x) != 2 || PyArray_NDIM(y) != 2 ||
        (type_num != NPY_FLOAT64 && type_num != NPY_FLOAT32))
        return 1;
    const npy_intp *xs = PyArray_STRIDES(x), *ys = PyArray_STRIDES(y), *os = PyArray_STRIDES(out);
    npy_intp m = PyArray_DIM(x, 0), k = PyArray_DIM(x, 1), n = PyArray_DIM(y, 1);
    if (PyArray_DIM(y, 0) != k || PyArray_DIM(out, 0) != m || PyArray_DIM(out, 1) != n ||
        !tc_gemm_fits(type_num == NPY_FLOAT32, m, n, k))
        return 1;
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = tc_gemm(type_num == NPY_FLOAT32, m, n, k, PyArray_BYTES(x), xs[0], xs[1],
                  PyArray_BYTES(y), ys[0], ys[1], PyArray_BYTES(out), os[0], os[1]);
    Py_END_ALLOW_THREADS
    return err;
}

/* storage[out] = storage[a] @ storage[b] into a recycled buffer: tc_gemm for the shapes it
 * takes (when the step allows it), else numpy's matmul (BLAS, which releases the GIL
 * itself).  Anything unexpected: nonzero (the Python path). */
static int tc_step_matmul(const tc_caller *c, const tc_cstep *st, PyObject *storage) {
    PyObject *a = PyList_GET_ITEM(storage, st->a), *b = PyList_GET_ITEM(storage, st->b);
    if (Py_TYPE(a) != &PyArray_Type || Py_TYPE(b) != &PyArray_Type) return 1;
    PyArrayObject *x = (PyArrayObject *)a, *y = (PyArrayObject *)b;
    int nx = PyArray_NDIM(x), ny = PyArray_NDIM(y);
    if (nx < 1 || nx > 2 || ny < 1 || ny > 2 || PyArray_DESCR(x)->type_num != st->type_num ||
        PyArray_DESCR(y)->type_num != st->type_num || PyArray_DIM(x, nx - 1) != PyArray_DIM(y, 0))
        return 1;
    npy_intp dims[2];
    int nd = 0;
    if (nx == 2) dims[nd++] = PyArray_DIM(x, 0);
    if (ny == 2) dims[nd++] = PyArray_DIM(y, 1);
    if (nd == 0) return 1;
    PyObject *out = tc_recycled(st->cache, 0, nd, dims, st->type_num);
    if (out == NULL) return 1;
    if (st->gemm && tc_matmul_gemm(x, y, (PyArrayObject *)out, st->type_num) == 0) {
        PyList_SetItem(storage, st->out, out); /* steals */
        return 0;
    }
    PyObject *argv[3] = {a, b, out};
    PyObject *res = PyObject_Vectorcall(c->matmul, argv, 2, c->out_kw);
    if (res == NULL) {
        PyErr_Clear();
        Py_DECREF(out);
        return 1;
    }
    Py_DECREF(res);
    PyList_SetItem(storage, st->out, out); /* steals */
    return 0;
}

/* storage[out] = storage[a] transposed by perm, then indexed (new/dropped axes). */
static int tc_step_view(const tc_cstep *st, PyObject *storage) {
    PyObject *a = PyList_GET_ITEM(storage, st->a);
    if (Py_TYPE(a) != &PyArray_Type || PyArray_NDIM((PyArrayObject *)a) != st->ndim) return 1;
    PyObject *v;
    if (st->perm.len > 0) {
        v = PyArray_Transpose((PyArrayObject *)a, (PyArray_Dims *)&st->perm);
        if (v == NULL) goto error;
    } else {
        Py_INCREF(a);
        v = a;
    }
    if (st->index != NULL) {
        PyObject *w = PyObject_GetItem(v, st->index);
        Py_DECREF(v);
        if (w == NULL) goto error;
        v = w;
    }
    PyList_SetItem(storage, st->out, v); /* steals */
    return 0;
error:
    PyErr_Clear();
    return 1;
}

static PyObject *tc_caller_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    tc_caller *c = (tc_caller *)PyCapsule_GetPointer(self, NULL);
    if (c == NULL) return NULL;
    if (nargs != c->n_in) goto fallback;
    for (Py_ssize_t i = 0; i < nargs; i++)
        if (!tc_exact_array(args[i], c->in_type[i], c->in_ndim[i])) goto fallback;
    PyObject *storage = PyList_GetSlice(c->template_, 0, PY_SSIZE_T_MAX);
    if (storage == NULL) return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyList_SetItem(storage, i, args[i]); /* steals; drops the template's None */
    }
    if (!PyThread_acquire_lock(c->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(c->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    /* under the lock: shared values read, steps run and updates written as one unit */
    int err = 0;
    for (int32_t k = 0; k < c->n_shared && !err; k++) {
        PyObject *v = PyObject_GetAttr(PyTuple_GET_ITEM(c->shared, k), tc_value_str);
        if (v == NULL) {
            PyErr_Clear();
            err = 1;
            break;
        }
        err = !tc_exact_array(v, c->in_type[c->n_in + k], c->in_ndim[c->n_in + k]);
        PyList_SetItem(storage, c->n_in + k, v); /* steals */
    }
    int serial = c->blas_serial ? tc_pool_serial(1) : 0;
    for (int32_t k = 0; k < c->nsteps && !err; k++) {
        const tc_cstep *st = &c->steps[k];
        err = (st->kind == TC_STEP_SEGMENT ? tc_step_segment(st, storage)
               : st->kind == TC_STEP_MATMUL ? tc_step_matmul(c, st, storage)
               : tc_step_view(st, storage)) != 0;
    }
    if (c->blas_serial) tc_pool_serial(serial);
    for (int32_t k = 0; k < c->n_upd && !err; k++) {
        PyObject *v = PyList_GET_ITEM(storage, c->out_slot[c->n_out + k]);
        if (PyObject_SetAttr(PyTuple_GET_ITEM(c->updates, k), tc_value_str, v) < 0) err = -1;
    }
    PyThread_release_lock(c->lock);
    if (err) {
        Py_DECREF(storage);
        if (err < 0) return NULL; /* a container refused its new value: that error */
        goto fallback; /* nothing was changed but recycled buffers: the Python path runs again */
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
    "Call a compiled function whose program C can run (see tensorc/backend/c/caller.py)."};

/* Read a tuple of ints into out[0..n); 0 when obj is not such a tuple of length n. */
static int tc_int_tuple(PyObject *obj, int32_t *out, Py_ssize_t n, long lo, long hi) {
    if (!PyTuple_Check(obj) || PyTuple_GET_SIZE(obj) != n) return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        long v = PyLong_AsLong(PyTuple_GET_ITEM(obj, i));
        if ((v == -1 && PyErr_Occurred()) || v < lo || v > hi) return 0;
        out[i] = (int32_t)v;
    }
    return 1;
}

/* Fill st from its description (see caller.py: c_caller); 0 when malformed. */
static int tc_parse_step(tc_cstep *st, PyObject *d, Py_ssize_t nstore) {
    if (!PyTuple_Check(d) || PyTuple_GET_SIZE(d) < 1) return 0;
    Py_ssize_t n = PyTuple_GET_SIZE(d);
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(d, 0));
    if (kind < TC_STEP_SEGMENT || kind > TC_STEP_VIEW) return 0;
    st->kind = (int32_t)kind;
    if (st->kind == TC_STEP_SEGMENT) {
        if (n != 4 || !PyList_Check(PyTuple_GET_ITEM(d, 3))) return 0;
        st->prog = (tc_program *)PyLong_AsVoidPtr(PyTuple_GET_ITEM(d, 1));
        st->seg = (const tc_segment *)PyLong_AsVoidPtr(PyTuple_GET_ITEM(d, 2));
        if (st->prog == NULL || st->seg == NULL) return 0;
        for (int32_t i = 0; i < st->seg->nslots; i++)
            if (st->seg->slot_of[i] < 0 || st->seg->slot_of[i] >= nstore) return 0;
        st->cache = PyTuple_GET_ITEM(d, 3);
        Py_INCREF(st->cache);
        return 1;
    }
    if (n != (st->kind == TC_STEP_MATMUL ? 7 : 6)) return 0;
    const int nints = st->kind == TC_STEP_MATMUL ? 4 : 3; /* then the pool, or perm + index */
    int32_t v[4];
    PyObject *ints = PyTuple_GetSlice(d, 1, 1 + nints);
    int ok = ints != NULL && tc_int_tuple(ints, v, nints, 0, 1L << 30);
    Py_XDECREF(ints);
    if (!ok) return 0;
    st->a = v[0];
    if (st->a >= nstore || v[1] >= nstore) return 0;
    if (st->kind == TC_STEP_MATMUL) {
        st->b = v[1], st->out = v[2], st->type_num = v[3];
        PyObject *pool = PyTuple_GET_ITEM(d, 5);
        if (st->out >= nstore || !PyList_Check(pool) || PyList_GET_SIZE(pool) != 2) return 0;
        st->gemm = PyObject_IsTrue(PyTuple_GET_ITEM(d, 6)) == 1;
        st->cache = pool;
        Py_INCREF(pool);
        return 1;
    }
    st->out = v[1], st->ndim = v[2];
    PyObject *perm = PyTuple_GET_ITEM(d, 4), *index = PyTuple_GET_ITEM(d, 5);
    if (st->ndim > TC_MAX_NDIM) return 0;
    st->perm.ptr = st->axes;
    st->perm.len = 0;
    if (perm != Py_None) {
        int32_t axes[TC_MAX_NDIM];
        if (!tc_int_tuple(perm, axes, st->ndim, 0, st->ndim - 1)) return 0;
        for (int32_t i = 0; i < st->ndim; i++) st->axes[i] = axes[i];
        st->perm.len = st->ndim;
    }
    if (index != Py_None) {
        if (!PyTuple_Check(index)) return 0;
        st->index = index;
        Py_INCREF(index);
    }
    return 1;
}

/* Build the caller from spec, a tuple (see caller.py: c_caller):
 *   (lock, template, keep, fallback, in_types, in_ndims, shared, updates, steps,
 *    out_slots, n_out, unpack, blas_serial, matmul)
 * and append it to the list `holder`.  in_types/in_ndims cover the arguments then the
 * shared values; out_slots the outputs then the update values. */
int tc_make_caller(uintptr_t holder, uintptr_t spec) {
    PyGILState_STATE g = PyGILState_Ensure();
    int err = TC_ERROR(TC_ERR_INTERNAL, 0);
    PyObject *list = (PyObject *)holder, *sp = (PyObject *)spec;
    tc_caller *c = NULL;
    PyObject *capsule = NULL;
    if (!tc_numpy_ready() || !PyList_Check(list) || !PyTuple_Check(sp) || PyTuple_GET_SIZE(sp) != 14)
        goto done;
    if (tc_value_str == NULL && (tc_value_str = PyUnicode_InternFromString("value")) == NULL)
        goto done;
    PyObject *tmpl = PyTuple_GET_ITEM(sp, 1), *shared = PyTuple_GET_ITEM(sp, 6),
             *updates = PyTuple_GET_ITEM(sp, 7), *steps = PyTuple_GET_ITEM(sp, 8),
             *outs = PyTuple_GET_ITEM(sp, 9);
    if (!PyList_Check(tmpl) || !PyTuple_Check(shared) || !PyTuple_Check(updates) ||
        !PyList_Check(steps) || !PyTuple_Check(outs))
        goto done;
    void *lock = PyLong_AsVoidPtr(PyTuple_GET_ITEM(sp, 0));
    long n_out = PyLong_AsLong(PyTuple_GET_ITEM(sp, 10));
    Py_ssize_t n_in = PyTuple_Check(PyTuple_GET_ITEM(sp, 4)) ? PyTuple_GET_SIZE(PyTuple_GET_ITEM(sp, 4)) : -1;
    Py_ssize_t n_shared = PyTuple_GET_SIZE(shared), n_upd = PyTuple_GET_SIZE(updates);
    Py_ssize_t nstore = PyList_GET_SIZE(tmpl), nsteps = PyList_GET_SIZE(steps);
    n_in -= n_shared;
    if (lock == NULL || n_in < 0 || n_out < 0 || n_in + n_shared > TC_MAX_STEP_ARGS ||
        n_out + n_upd < 1 || n_out + n_upd > TC_MAX_STEP_ARGS || n_in + n_shared > nstore ||
        nsteps < 1)
        goto done;
    c = (tc_caller *)PyMem_Calloc(1, sizeof(tc_caller));
    if (c == NULL) goto done;
    c->steps = (tc_cstep *)PyMem_Calloc((size_t)nsteps, sizeof(tc_cstep));
    if (c->steps == NULL) goto done;
    c->nsteps = (int32_t)nsteps;
    c->lock = (PyThread_type_lock)lock;
    c->n_in = (int32_t)n_in, c->n_shared = (int32_t)n_shared;
    c->n_out = (int32_t)n_out, c->n_upd = (int32_t)n_upd;
    c->unpack = PyObject_IsTrue(PyTuple_GET_ITEM(sp, 11)) == 1 && n_out == 1;
    c->blas_serial = PyObject_IsTrue(PyTuple_GET_ITEM(sp, 12)) == 1;
    if (!tc_int_tuple(PyTuple_GET_ITEM(sp, 4), c->in_type, n_in + n_shared, 0, 1 << 20) ||
        !tc_int_tuple(PyTuple_GET_ITEM(sp, 5), c->in_ndim, n_in + n_shared, 0, TC_MAX_NDIM) ||
        !tc_int_tuple(outs, c->out_slot, n_out + n_upd, 0, (long)nstore - 1))
        goto done;
    for (Py_ssize_t k = 0; k < nsteps; k++)
        if (!tc_parse_step(&c->steps[k], PyList_GET_ITEM(steps, k), nstore)) goto done;
    c->template_ = tmpl, c->keep = PyTuple_GET_ITEM(sp, 2), c->fallback = PyTuple_GET_ITEM(sp, 3);
    c->shared = shared, c->updates = updates, c->matmul = PyTuple_GET_ITEM(sp, 13);
    Py_INCREF(c->template_);
    Py_INCREF(c->keep);
    Py_INCREF(c->fallback);
    Py_INCREF(c->shared);
    Py_INCREF(c->updates);
    Py_INCREF(c->matmul);
    c->out_kw = Py_BuildValue("(s)", "out");
    if (c->out_kw == NULL) goto done;
    capsule = PyCapsule_New(c, NULL, tc_caller_free);
    if (capsule == NULL) goto done;
    c = NULL; /* the capsule owns it now */
    PyObject *fn = PyCFunction_New(&tc_caller_def, capsule);
    if (fn != NULL && PyList_Append(list, fn) == 0) err = 0;
    Py_XDECREF(fn);
done:
    if (c != NULL) { /* not handed to a capsule: free through the same path */
        PyObject *tmp = PyCapsule_New(c, NULL, tc_caller_free);
        if (tmp != NULL) Py_DECREF(tmp);
    }
    Py_XDECREF(capsule);
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
int tc_make_caller(uintptr_t holder, uintptr_t spec) {
    (void)holder; (void)spec;
    return TC_ERROR(TC_ERR_INTERNAL, 0);
}

#endif
