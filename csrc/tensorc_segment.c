/*
 * tensorc_segment.c -- run a segment of kernels with its output arrays allocated in C,
 * included by tensorc_ext.c after the binding helpers.
 *
 * The Python runner used to compute every kernel output's shape, pick or allocate its
 * array and build the operand list itself: ~2-3 us of Python per kernel, most of a small
 * function's time.  Here one call binds the segment's inputs from the function's storage
 * list, then for each output, in step order:
 *   - its shape comes from the already bound operands: dimension d is dimension
 *     dimsrc[2d+1] of local slot dimsrc[2d], or 1 when that slot is -1 (elementwise
 *     broadcasting, reductions with or without keepdims, row kernels are all this shape);
 *   - its array is the input named by `inplace`, or one of the two arrays cached for it in
 *     the `cache` list that nobody else holds any more (reference count 1) and has that
 *     shape, or a new array (then cached, replacing the second one) -- so a returned array
 *     is never overwritten while the caller holds it, and `W = W - lr * g` alternates
 *     between two buffers without allocating;
 *   - it is stored into the storage list and bound;
 * and finally the kernels run without the GIL (tc_run_program).
 */
#ifndef TC_NO_NUMPY

static int tc_same_shape(PyObject *obj, int ndim, const npy_intp *dims) {
    PyArrayObject *a = (PyArrayObject *)obj;
    if (PyArray_NDIM(a) != ndim) return 0;
    const npy_intp *have = PyArray_DIMS(a);
    for (int d = 0; d < ndim; d++)
        if (have[d] != dims[d]) return 0;
    return 1;
}

/* A new reference to the array for allocation `al`, or NULL (error code in *err). */
static PyObject *tc_segment_output(tc_program *prog, const tc_segment *seg, const tc_alloc *al,
                                   PyObject *storage, PyObject *cache, int *err) {
    if (al->inplace >= 0) {
        PyObject *src = PyList_GET_ITEM(storage, seg->slot_of[al->inplace]);
        Py_INCREF(src);
        return src;
    }
    npy_intp dims[TC_MAX_NDIM];
    const int32_t *src = seg->dimsrc + al->first;
    for (int d = 0; d < al->ndim; d++) {
        int32_t s = src[2 * d], k = src[2 * d + 1];
        if (s < 0) {
            dims[d] = 1;
        } else if (s < seg->nslots && k >= 0 && k < prog->slots[s].ndim) {
            dims[d] = prog->slots[s].shape[k];
        } else {
            *err = TC_ERROR(TC_ERR_INTERNAL, al->slot);
            return NULL;
        }
    }
    for (int c = 0; c < 2; c++) {
        PyObject *b = PyList_GET_ITEM(cache, al->cache + c);
        if (b != Py_None && Py_REFCNT(b) == 1 && tc_same_shape(b, al->ndim, dims)) {
            Py_INCREF(b);
            return b;
        }
    }
    PyObject *arr = PyArray_EMPTY(al->ndim, dims, al->type_num, 0);
    if (arr == NULL) {
        PyErr_Clear();
        *err = TC_ERROR(TC_ERR_ALLOC, al->slot);
        return NULL;
    }
    int c = PyList_GET_ITEM(cache, al->cache) == Py_None ? 0 : 1;
    Py_INCREF(arr);
    PyList_SetItem(cache, al->cache + c, arr); /* steals the new reference, drops the old */
    return arr;
}

static int tc_segment_prepare(tc_program *prog, const tc_segment *seg, PyObject *storage,
                              PyObject *cache) {
    if (!tc_numpy_ready() || !PyList_Check(storage) || !PyList_Check(cache) ||
        seg->nslots > prog->nslots)
        return TC_ERROR(TC_ERR_INTERNAL, 0);
    Py_ssize_t nstore = PyList_GET_SIZE(storage), ncache = PyList_GET_SIZE(cache);
    for (int32_t i = 0; i < seg->nslots; i++)
        if (seg->slot_of[i] < 0 || seg->slot_of[i] >= nstore) return TC_ERROR(TC_ERR_INTERNAL, i);
    for (int32_t i = 0; i < seg->nin; i++) {
        int err = tc_bind_one(prog, i, PyList_GET_ITEM(storage, seg->slot_of[i]), &seg->specs[i]);
        if (err) return TC_ERROR(err, i);
    }
    for (int32_t a = 0; a < seg->nalloc; a++) {
        const tc_alloc *al = &seg->allocs[a];
        if (al->slot < seg->nin || al->slot >= seg->nslots || al->ndim > TC_MAX_NDIM ||
            al->cache < 0 || al->cache + 2 > ncache || al->inplace >= seg->nslots)
            return TC_ERROR(TC_ERR_INTERNAL, a);
        int err = 0;
        PyObject *arr = tc_segment_output(prog, seg, al, storage, cache, &err);
        if (arr == NULL) return err;
        PyList_SetItem(storage, seg->slot_of[al->slot], arr); /* steals the reference */
        err = tc_bind_one(prog, al->slot, arr, &al->spec);
        if (err) return TC_ERROR(err, al->slot);
    }
    return 0;
}

int tc_run_segment(tc_program *prog, const tc_segment *seg, uintptr_t storage, uintptr_t cache,
                   int32_t *failed_step) {
    PyGILState_STATE g = PyGILState_Ensure();
    int err = tc_segment_prepare(prog, seg, (PyObject *)storage, (PyObject *)cache);
    PyGILState_Release(g);
    if (err) {
        *failed_step = -1;
        return err;
    }
    return tc_run_program(prog, failed_step);
}

#else

int tc_run_segment(tc_program *prog, const tc_segment *seg, uintptr_t storage, uintptr_t cache,
                   int32_t *failed_step) {
    (void)prog; (void)seg; (void)storage; (void)cache;
    *failed_step = -1;
    return TC_ERROR(TC_ERR_INTERNAL, 0);
}

#endif
