{
  "targets": [
    {
      "target_name": "fsx",
      "sources": ["native/fsx.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
