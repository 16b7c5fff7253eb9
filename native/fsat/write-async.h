// writeFileAsync (write-async.c), registered by fsat.c's module init.
#ifndef MIRRORLOG_FSAT_WRITE_ASYNC_H
#define MIRRORLOG_FSAT_WRITE_ASYNC_H

#include <node_api.h>

napi_value js_write_file_async(napi_env env, napi_callback_info info);

#endif
