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
 * dimshuffles and Shape_i read only by kernels of the segment are filled in the same order
 * without any Python object (TC_FILL_VIEW, TC_FILL_SHAPE); and finally the kernels run
 * without the GIL (tc_run_program).
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

/* A new reference to an array of shape dims from the two recycled arrays at
 * cache[first], cache[first + 1]: one nobody else holds any more (reference count 1)
 * with that shape, else a new one (then cached, replacing the second).  NULL when out of
 * memory (no Python error left set).  The cache's arrays all have type_num. */
static PyObject *tc_recycled(PyObject *cache, Py_ssize_t first, int ndim, const npy_intp *dims,
                             int type_num) {
    for (int c = 0; c < 2; c++) {
        PyObject *b = PyList_GET_ITEM(cache, first + c);
        if (b != Py_None && Py_REFCNT(b) == 1 && tc_same_shape(b, ndim, dims)) {
            Py_INCREF(b);
            return b;
        }
    }
    PyObject *arr = PyArray_EMPTY(ndim, (npy_intp *)dims, type_num, 0);
    if (arr == NULL) {
        PyErr_Clear();
        return NULL;
    }
    int c = PyList_GET_ITEM(cache, first) == Py_None ? 0 : 1;
    Py_INCREF(arr);
    PyList_SetItem(cache, first + c, arr); /* steals the new reference, drops the old */
    return arr;
}

/* A new reference to the array for allocation `al`, or NULL (error code in *err). */
static PyObject *tc_segment_output(tc_program *prog, const tc_segment *seg, const tc_alloc *al,
                                   PyObject *storage, PyObject *cache, int *err) {
    if (al->source >= 0) {
        PyObject *src = PyList_GET_ITEM(storage, seg->slot_of[al->source]);
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
    PyObject *arr = tc_recycled(cache, al->cache, al->ndim, dims, al->type_num);
    if (arr == NULL) *err = TC_ERROR(TC_ERR_ALLOC, al->slot);
    return arr;
}

/* Slot al->slot = a dimshuffle of al->source: dimension d is the source's dimension
 * dimsrc[2d+1] (same stride), or a new axis of size 1; the source's other dimensions
 * must have size 1 (they are dropped). */
static int tc_segment_view(tc_program *prog, const tc_segment *seg, const tc_alloc *al) {
    const tc_arg *src = &prog->slots[al->source];
    tc_arg *out = &prog->slots[al->slot];
    tc_intp *shape = prog->dims + (size_t)al->slot * 2 * TC_MAX_NDIM;
    tc_intp *strides = shape + TC_MAX_NDIM;
    const int32_t *pairs = seg->dimsrc + al->first;
    uint64_t used = 0;
    for (int d = 0; d < al->ndim; d++) {
        int32_t s = pairs[2 * d], k = pairs[2 * d + 1];
        if (s < 0) {
            shape[d] = 1;
            strides[d] = 0;
            continue;
        }
        if (s != al->source || k < 0 || k >= src->ndim) return TC_ERROR(TC_ERR_INTERNAL, al->slot);
        shape[d] = src->shape[k];
        strides[d] = src->strides[k];
        used |= (uint64_t)1 << k;
    }
    for (int k = 0; k < src->ndim; k++)
        if (!(used >> k & 1) && src->shape[k] != 1) return TC_ERROR(TC_ERR_SHAPE, al->source);
    out->data = src->data;
    out->shape = shape;
    out->strides = strides;
    out->ndim = al->ndim;
    out->flags = 0;
    return 0;
}

/* Slot al->slot = the int64 scalar shape[k] of al->source, stored in the slot's own
 * dims area. */
static int tc_segment_shape(tc_program *prog, const tc_segment *seg, const tc_alloc *al) {
    const tc_arg *src = &prog->slots[al->source];
    int32_t k = seg->dimsrc[al->first + 1];
    if (al->ndim != 0 || k < 0 || k >= src->ndim) return TC_ERROR(TC_ERR_INTERNAL, al->slot);
    tc_intp *cell = prog->dims + (size_t)al->slot * 2 * TC_MAX_NDIM;
    cell[0] = src->shape[k];
    tc_arg *out = &prog->slots[al->slot];
    out->data = (char *)cell;
    out->shape = cell + 1;
    out->strides = cell + 1;
    out->ndim = 0;
    out->flags = 0;
    return 0;
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
        if (al->slot < seg->nin || al->slot >= seg->nslots || al->ndim < 0 ||
            al->ndim > TC_MAX_NDIM || al->source >= seg->nslots ||
            (al->kind != TC_FILL_ARRAY && (al->source < 0 || al->source >= al->slot)))
            return TC_ERROR(TC_ERR_INTERNAL, a);
        if (al->kind == TC_FILL_VIEW || al->kind == TC_FILL_SHAPE) {
            int err = al->kind == TC_FILL_VIEW ? tc_segment_view(prog, seg, al)
                                               : tc_segment_shape(prog, seg, al);
            if (err) return err;
            continue;
        }
        if (al->kind != TC_FILL_ARRAY || al->cache < 0 || al->cache + 2 > ncache)
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
