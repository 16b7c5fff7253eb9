// A directory's names and an lstat of each, in one call (scan.c).
#ifndef MIRRORLOG_SCAN_H
#define MIRRORLOG_SCAN_H

#include <node_api.h>

napi_value scan_directory_js(napi_env env, napi_callback_info info);
napi_value scan_directory_async_js(napi_env env, napi_callback_info info);

#endif
