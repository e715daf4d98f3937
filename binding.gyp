{
  "variables": {
    "kindling_blas%": "<!(node scripts/detect-blas.cjs --arch=<(target_arch))",
    "kindling_static_blas%": "<!(node -p \"process.env.KINDLING_STATIC_BLAS === '1' ? 1 : 0\")",
    "kindling_blas_archive%": "<!(node scripts/detect-blas.cjs --archive --arch=<(target_arch))"
  },
  "targets": [
    {
      "target_name": "kindling",
      "sources": [
        "native/binding/addon.cc",
        "native/binding/args.cc",
        "native/binding/core.cc",
        "native/binding/nn.cc",
        "native/binding/optim.cc",
        "native/binding/cuda.cc",
        "native/cpu/elementwise.cc",
        "native/cpu/reduce.cc",
        "native/cpu/index.cc",
        "native/cpu/gemm.cc",
        "native/cpu/random.cc",
        "native/cpu/parallel.cc",
        "native/cpu/nn.cc",
        "native/cpu/rnn.cc",
        "native/cpu/optim.cc",
        "native/cuda/stub.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fexceptions"],
      "conditions": [
        ["kindling_blas=='openblas' and kindling_static_blas not in (1, '1')", {
          "defines": ["KD_WITH_OPENBLAS"],
          "libraries": ["-lopenblas"]
        }],
        # The prebuilt binaries (scripts/prebuild.cjs): OpenBLAS and libstdc++
        # linked in and their symbols kept out of the dynamic table, so the
        # .node loads on machines without OpenBLAS or a new enough libstdc++.
        ["kindling_blas=='openblas' and kindling_static_blas in (1, '1')", {
          "defines": ["KD_WITH_OPENBLAS"],
          "libraries": ["<(kindling_blas_archive)", "-lpthread"],
          "ldflags": ["-static-libstdc++", "-Wl,--exclude-libs,ALL", "-Wl,--gc-sections"]
        }],
        # AArch64 has fused multiply-add in its baseline, so GCC would fuse
        # a*b+c wherever it could; x86-64's baseline has none. Unfused, arm64
        # rounds as x64 does (Note [Wide SIMD loops], native/cpu/vec_math.h).
        ["target_arch=='arm64'", {
          "cflags_cc": ["-ffp-contract=off"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off"] }
        }],
        ["OS=='mac'", {
          "defines": ["KD_WITH_ACCELERATE"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_CPLUSPLUSFLAGS": ["-O3"]
          }
        }],
        ["OS=='win'", {
          "msvs_settings": {
            "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2"] }
          }
        }]
      ]
    }
  ]
}
