{
  "targets": [
    {
      "target_name": "fsat",
      "sources": ["<!@(ls -1 fsat/*.c)", "shared/napi-args.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "watch",
      "sources": ["watch/watch.c", "watch/scan.c", "shared/napi-args.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
