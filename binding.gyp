{
  "variables": {
    "kindling_blas%": "<!(node scripts/detect-blas.cjs --arch=<(target_arch))",
    "kindling_static_blas%": "<!(node -p \"process.env.KINDLING_STATIC_BLAS === '1' ? 1 : 0\")",
    "kindling_blas_archive%": "<!(node scripts/detect-blas.cjs --archive --arch=<(target_arch))",
    "kindling_gloo%": "<!(node scripts/detect-gloo.cjs)"
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
        "native/cpu/cache.cc",
        "native/cpu/nn.cc",
        "native/cpu/attention.cc",
        "native/cpu/rnn.cc",
        "native/cpu/optim.cc",
        "native/cuda/stub.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # A worker thread that is terminated mid-call cannot take a JS exception;
      # node-addon-api would then throw a C++ one out of its callback wrapper
      # and abort the whole process. SWALLOW lets the terminating worker end.
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
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
        # macOS: Apple's Accelerate for BLAS (scripts/detect-blas.cjs says
        # "accelerate" there unless KINDLING_BLAS=none), through its classic
        # CBLAS interface: ACCELERATE_NEW_LAPACK is left undefined, as the new
        # one needs macOS 13.3 and the deployment target is 11.0 (the first
        # with arm64). Apple clang contracts a*b+c into an FMA by default,
        # where GCC in ISO C++ mode does not, so contraction is off on both
        # arches, as on arm64 Linux (the kernels fuse only where they ask to).
        # node-gyp reads xcode_settings, not cflags_cc, on macOS.
        ["OS=='mac' and kindling_blas=='accelerate'", {
          "defines": ["KD_WITH_ACCELERATE"],
          "libraries": ["-framework Accelerate"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-ffp-contract=off"],
            "WARNING_CFLAGS": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
          }
        }],
        # Windows: MSVC with the built-in GEMM. No /arch flag, so the binary
        # runs on any x64 CPU; the GEMM's AVX2/AVX-512 kernels and their
        # run-time dispatch are compiled for GCC and Clang only (target
        # attributes, __builtin_cpu_supports), so MSVC builds the portable
        # kernels. node-gyp reads msvs_settings, not cflags_cc, here, so no
        # GCC flag reaches cl.exe. /EHsc (ExceptionHandling 1) for
        # node-addon-api's C++ exceptions; /bigobj for the template-heavy
        # kernel files; getenv is standard C++, not a CRT security problem.
        ["OS=='win'", {
          "defines": ["_CRT_SECURE_NO_WARNINGS"],
          "msvs_settings": {
            "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2", "/bigobj", "/utf-8"] }
          }
        }]
      ]
    }
  ]
  ,
  # torch.distributed (lib/distributed): a module of its own, built only
  # where Gloo is installed, so the main addon never needs Gloo.
  "conditions": [
    ["kindling_gloo==1", {
      "targets": [
        {
          "target_name": "kindling_dist",
          "sources": [
            "native/distributed/addon.cc",
            "native/distributed/store.cc",
            "native/distributed/process_group.cc",
            "native/distributed/nccl.cc"
          ],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
          "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
          "cflags!": ["-fno-exceptions"],
          "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
          "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fexceptions"],
          "libraries": ["-lgloo", "-ldl", "-lpthread"]
        }
      ]
    }]
  ]
}
