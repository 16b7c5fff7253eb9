// Extended attributes (xattr.c), registered by fsat.c's module init.
#ifndef MIRRORLOG_FSAT_XATTR_H
#define MIRRORLOG_FSAT_XATTR_H

#include <node_api.h>

napi_value js_xattrs(napi_env env, napi_callback_info info);
napi_value js_setxattr(napi_env env, napi_callback_info info);
napi_value js_removexattr(napi_env env, napi_callback_info info);

#endif
