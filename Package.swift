// swift-tools-version:6.1
import PackageDescription

// Layering (a lower module cannot import a higher one; docs/DESIGN.md draws the map):
//   TextIO (JSON, lines, file errors) → Tensor (+ CBLAS, CKernels) → NMT → NMTCommand (the `nmt` executable)
//   TextIO → Tokenizers ↗;  Evaluation ↗ (BLEU, chrF);  Rendering ↗ (markup both models' renderers share)
//   Tensor → ImageKernels (+ CWinograd) → ImageClassification (+ CZlib) ↗
//   NMT → Serving (`nmt serve`: HTTP on Hummingbird, the batching queue, the page) ↗
// With the MPI trait (`swift build --traits MPI`), `nmt` also links Distributed → MPI (Open MPI)
// and trains data-parallel under `mpirun`; without it nothing needs MPI installed.
let package = Package(
    name: "nmt",
    platforms: [.macOS(.v14)],  // 14: Hummingbird 2 (nmt serve)
    products: [
        .executable(name: "nmt", targets: ["NMTCommand"]),
        .library(name: "NMT", targets: ["NMT"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "ImageClassification", targets: ["ImageClassification"]),
    ],
    traits: [
        .trait(name: "MPI", description: "Data-parallel training under mpirun (needs Open MPI: apt libopenmpi-dev openmpi-bin)."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Hummingbird's own foundations, named because Serving imports them (ByteBuffer, Logger).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // OpenBLAS through its CBLAS interface. On Apple platforms the same calls come from
        // Accelerate; that switch lives in Tensor/BLAS.swift.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // zlib, for the gzip-compressed IDX files of Fashion-MNIST and the compressed data of PNG.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The translation engine's kernels written in C, where Swift's code generation falls short:
        // the int8 product (AVX2 intrinsics, chosen at run time).
        .target(name: "CKernels"),
        // The image model's Winograd transforms in C, for straight-line vector code.
        .target(name: "CWinograd"),
        // The text formats every module reads and writes: JSON, lines of text (one rule for
        // invalid UTF-8), and file errors in one line.
        .target(name: "TextIO"),
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels", "TextIO"]),
        .target(name: "Tokenizers", dependencies: ["TextIO"]),
        // Markup and text layout the renderers of both models share.
        .target(name: "Rendering"),
        // Corpus BLEU and chrF as sacreBLEU computes them: text in, scores out (a leaf).
        .target(name: "Evaluation"),
        .target(name: "NMT", dependencies: ["Tensor", "Tokenizers", "TextIO", "Evaluation", "Rendering"]),
        // The image model's kernels on Tensor: convolutions (Winograd and im2col), batch norm,
        // pooling, spatial self-attention, and their tape ops.
        .target(name: "ImageKernels", dependencies: ["Tensor", "CWinograd"]),
        .target(name: "ImageClassification", dependencies: ["Tensor", "ImageKernels", "TextIO", "CZlib", "Rendering"]),
        // Open MPI's C interface; built and linked only with the MPI trait.
        .systemLibrary(
            name: "MPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        // NMT's TrainingGroup over MPI. Without the trait it holds only the launcher that says so.
        .target(name: "Distributed", dependencies: ["NMT", .target(name: "MPI", condition: .when(traits: ["MPI"]))]),
        // `nmt serve`: the HTTP API, the batching queue in front of the model, and the page.
        .target(name: "Serving", dependencies: [
            "NMT", "Tokenizers", "TextIO",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(
            name: "NMTCommand",
            dependencies: ["NMT", "Tensor", "Tokenizers", "TextIO", "Evaluation", "Distributed", "ImageClassification", "ImageKernels", "Serving", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Locates Tests/Fixtures (the reference numbers from PyTorch and tokenizers) for every test target.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TextIOTests", dependencies: ["TextIO"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "ImageKernels", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TextIO", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "TestSupport"]),
        .testTarget(name: "NMTTests", dependencies: ["NMT", "Tensor", "Tokenizers", "Evaluation", "TestSupport"]),
        .testTarget(name: "ImageClassificationTests", dependencies: ["ImageClassification", "ImageKernels", "Tensor", "TestSupport"]),
        // The command layer in process: the declared training run against nmt train's options.
        .testTarget(name: "NMTCommandTests", dependencies: ["NMTCommand", "NMT", "TextIO", "TestSupport"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "NMT", "Tensor", "Tokenizers", "TestSupport"]),
        .testTarget(name: "CommandTests", dependencies: ["NMT", "Tensor", "Tokenizers", "ImageClassification", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
