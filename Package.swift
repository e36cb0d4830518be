// swift-tools-version:6.1
import PackageDescription

// Layering (a lower module cannot import a higher one):
//   CBLAS → Tensor → NMT → NMTCommand (the `nmt` executable)
//   CKernels ↗ (the Winograd transforms and the int8 product, in C for straight-line vector code)
//           Tokenizers ↗, Rendering ↗ (markup shared by both models' renderers)
//   CBLAS → Tensor → ImageClassification ↗  (Fashion-MNIST data, AttentionNet)
//   CZlib ↗
// With the MPI trait (`swift build --traits MPI`), `nmt` also links Distributed → MPI (Open MPI)
// and trains data-parallel under `mpirun`; without it nothing needs MPI installed.
let package = Package(
    name: "nmt",
    platforms: [.macOS(.v13)],
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
        // Kernels written in C where Swift's code generation falls short: the Winograd transforms and the
        // int8 product (AVX2 intrinsics, chosen at run time).
        .target(name: "CKernels"),
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "Tokenizers"),
        // Markup and text layout the renderers of both models share.
        .target(name: "Rendering"),
        .target(name: "NMT", dependencies: ["Tensor", "Tokenizers", "Rendering"]),
        .target(name: "ImageClassification", dependencies: ["Tensor", "CZlib", "Rendering"]),
        // Open MPI's C interface; built and linked only with the MPI trait.
        .systemLibrary(
            name: "MPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        // NMT's TrainingGroup over MPI. Without the trait it holds only the launcher that says so.
        .target(name: "Distributed", dependencies: ["NMT", .target(name: "MPI", condition: .when(traits: ["MPI"]))]),
        .executableTarget(
            name: "NMTCommand",
            dependencies: ["NMT", "Tokenizers", "Distributed", "ImageClassification", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Locates Tests/Fixtures (the reference numbers from PyTorch and tokenizers) for every test target.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "NMTTests", dependencies: ["NMT", "Tokenizers", "TestSupport"]),
        .testTarget(name: "ImageClassificationTests", dependencies: ["ImageClassification", "TestSupport"]),
        .testTarget(name: "CommandTests", dependencies: ["NMT", "Tokenizers", "ImageClassification", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
