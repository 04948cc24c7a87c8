{
  "targets": [
    {
      "target_name": "qie",
      "sources": [
        "csrc/addon.c",
        "csrc/platform/sd_notify.c",
        "csrc/platform/runner.c",
        "<!@(ls -1 csrc/runtime/*.c csrc/kernels/*.c csrc/kernels/ref/*.c csrc/kernels/x86/*.c csrc/kernels/neon/*.c csrc/ops/*.c)"
      ],
      "include_dirs": ["csrc/include"],
      "cflags_c": ["-std=c11", "-O2", "-D_GNU_SOURCE", "-Wall", "-Wno-unused-parameter", "-Wno-format-truncation"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
