/*
 * A Node-API addon with one function: write a buffer each to many descriptors in one call from
 * JavaScript. The merged media writes of one flush pass (common/direct-write.ts) go out through it:
 * one call for the pass instead of one `fs.writeSync` per player, which takes Node's argument checks
 * and the crossing into C++ out of every write (about a tenth of the origin's CPU serving 200
 * players: README, "How the origin works"). It only writes: what to write where, and what to do
 * with a partial write or an error, stays in JavaScript.
 *
 * Built by scripts/build-native.sh (from scripts/setup.sh and `npm run build`) with gcc against the
 * headers of the Node.js the project runs (the `node` package); common/native/write-many.ts loads it
 * and falls back without it.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

static napi_value fail(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static int int32_array(napi_env env, napi_value value, int32_t **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  void *raw = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, NULL, NULL) != napi_ok || type != napi_int32_array) return 0;
  *data = raw;
  return 1;
}

/*
 * writeMany(fds: Int32Array, buffers: Buffer[], results: Int32Array, count: number): undefined
 * For i < count: write(fds[i], buffers[i]) once (again only if a signal interrupted it), and
 * results[i] = the bytes the kernel took (maybe fewer than the buffer holds), or -errno.
 */
static napi_value write_many(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4) return fail(env, "writeMany(fds, buffers, results, count)");
  int32_t *fds = NULL, *results = NULL;
  size_t fd_count = 0, result_count = 0;
  uint32_t count = 0, buffer_count = 0;
  bool is_array = false;
  if (!int32_array(env, argv[0], &fds, &fd_count)) return fail(env, "writeMany: fds must be an Int32Array");
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) return fail(env, "writeMany: buffers must be an array");
  if (!int32_array(env, argv[2], &results, &result_count)) return fail(env, "writeMany: results must be an Int32Array");
  if (napi_get_value_uint32(env, argv[3], &count) != napi_ok) return fail(env, "writeMany: count must be a number");
  napi_get_array_length(env, argv[1], &buffer_count);
  if (count > fd_count || count > result_count || count > buffer_count) return fail(env, "writeMany: count exceeds fds, buffers or results");

  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    void *data = NULL;
    size_t length = 0;
    bool is_buffer = false;
    if (napi_get_element(env, argv[1], i, &element) != napi_ok || napi_is_buffer(env, element, &is_buffer) != napi_ok || !is_buffer ||
        napi_get_buffer_info(env, element, &data, &length) != napi_ok) {
      return fail(env, "writeMany: buffers must hold Buffers");
    }
    ssize_t written;
    do written = write(fds[i], data, length);
    while (written < 0 && errno == EINTR);
    results[i] = written < 0 ? -errno : (int32_t)written;
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "writeMany", NAPI_AUTO_LENGTH, write_many, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "writeMany", fn) != napi_ok) return NULL;
  return exports;
}
