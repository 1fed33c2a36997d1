"""C declarations shared by the install-time extension ``tensorc._ext`` and the ABI fallback.

Kept free of imports so that ``setup.py`` can load this file by path.
"""

#: Types of the kernel calling convention (mirror of ``tensorc_runtime.h``) and
#: of the program runner (``csrc/tensorc_ext.h``).
TYPES_CDEF = """
typedef int64_t tc_intp;
typedef struct tc_arg {
    char *data;
    const tc_intp *shape;
    const tc_intp *strides;
    int32_t ndim;
    int32_t flags;
} tc_arg;
typedef int (*tc_kernel_fn)(const tc_arg *args);
typedef struct tc_step { tc_kernel_fn fn; int32_t nargs; int32_t first; } tc_step;
typedef struct tc_slot_spec { int32_t ndim; int32_t itemsize; char kind; char writable; char pad[2]; } tc_slot_spec;
typedef struct tc_program {
    int32_t nsteps;
    int32_t nslots;
    tc_step *steps;
    int32_t *argidx;
    tc_arg *slots;
    tc_intp *dims;
} tc_program;
typedef struct tc_alloc {
    int32_t slot; int32_t kind; int32_t type_num; int32_t ndim; int32_t source; int32_t first; int32_t cache;
    tc_slot_spec spec;
} tc_alloc;
typedef struct tc_segment {
    int32_t nslots; int32_t nin; int32_t nalloc; int32_t pad;
    const int32_t *slot_of; const tc_slot_spec *specs; const tc_alloc *allocs; const int32_t *dimsrc;
} tc_segment;
"""

#: Functions of ``tensorc._ext`` (API mode, compiled at install time).
EXT_FUNCS_CDEF = """
#define TC_MAX_NDIM 64
int tc_run_program(const tc_program *prog, int32_t *failed_step);
int tc_bind(tc_program *prog, uintptr_t seq, int32_t first_slot, int32_t n, const tc_slot_spec *specs);
int tc_run_segment(tc_program *prog, const tc_segment *seg, uintptr_t storage, uintptr_t cache, int32_t *failed_step);
void *tc_lock_new(void);
void tc_lock_free(void *lock);
void tc_lock_acquire(void *lock);
void tc_lock_release(void *lock);
int tc_run_segment_locked(void *lock, tc_program *prog, const tc_segment *seg, uintptr_t storage, uintptr_t cache, int32_t *failed_step);
int tc_make_caller(uintptr_t holder, uintptr_t spec);
int tc_call(tc_program *prog, uintptr_t seq, int32_t n, const tc_slot_spec *specs, int32_t *failed_step);
void *tc_dlopen(const char *path);
void *tc_dlsym(void *handle, const char *name);
const char *tc_dlerror(void);
int tc_install_pool(void *handle, int enable);
int tc_ew_driver_abi(void);
int tc_install_ew(void *handle);
int tc_red_driver_abi(void);
int tc_install_red(void *handle);
int tc_pool_threads(void);
int tc_gemm_rows_limit(int rows);
int tc_pool_request_threads(int n);
int64_t tc_pool_jobs(void);
int64_t tc_pool_set_grain(int64_t grain);
int tc_pool_serial(int on);
"""

#: libc's dynamic loader, declared for the ABI fallback (no extension).
LIBDL_CDEF = """
void *dlopen(const char *path, int flags);
void *dlsym(void *handle, const char *name);
char *dlerror(void);
"""

EXT_MODULE = "tensorc._ext"
