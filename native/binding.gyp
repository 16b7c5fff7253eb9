{
  "targets": [
    {
      "target_name": "fsat",
      "sources": ["<!@(ls -1 fsat/*.c)"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
