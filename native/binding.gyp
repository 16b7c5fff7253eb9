{
  "targets": [
    {
      "target_name": "watch",
      "sources": ["watch/watch.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
