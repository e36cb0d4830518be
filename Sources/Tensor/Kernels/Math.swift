#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Darwin)
@_exported import Darwin
#endif

/// Pointer-level kernels: the fast paths the tape-aware ops call. Each kernel's naive
/// reference lives beside it in `ReferenceKernels`, and tests compare the two.
/// Shapes use the toolkit's letters: B batch, S source length, T target length, D model width,
/// H heads, Dh head width, F feed-forward width, V vocabulary, N rows (= B·T or B·S).
public enum Kernels {}

/// Straightforward loops, written for clarity; tests hold the fast kernels to them.
public enum ReferenceKernels {}
