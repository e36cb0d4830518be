// swift-tools-version:6.0
import PackageDescription

// Layering (a lower module cannot import a higher one):
//   CBLAS → Tensor → NMT → NMTCommand (the `nmt` executable)
//           Tokenizers ↗
let package = Package(
    name: "nmt",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "nmt", targets: ["NMTCommand"]),
        .library(name: "NMT", targets: ["NMT"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
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
        .target(name: "Tensor", dependencies: ["CBLAS"]),
        .target(name: "Tokenizers"),
        .target(name: "NMT", dependencies: ["Tensor", "Tokenizers"]),
        .executableTarget(
            name: "NMTCommand",
            dependencies: ["NMT", "Tokenizers", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Locates Tests/Fixtures (the reference numbers from PyTorch and tokenizers) for every test target.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "NMTTests", dependencies: ["NMT", "TestSupport"]),
        .testTarget(name: "CommandTests", dependencies: ["NMT", "Tokenizers", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
