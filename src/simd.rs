//! Runtime choice of the instruction set for the few hot loops (`stats`,
//! the portable view's bulk decode). The shipped build targets baseline
//! x86-64 (SSE2); on a CPU with AVX2 (x86-64-v3) the same Rust code runs
//! compiled for it (on aarch64, for NEON). The dispatch is `pulp`'s safe API, so no `unsafe` is
//! added here (STYLE §5; spec/safety.md §4).
//!
//! Results do not depend on the path taken: the loops are written in fixed
//! lanes with no reassociation, so both compilations compute the same
//! values bit for bit (float sums included).

/// An instruction set to run a loop on: [`best`] in the library; tests
/// also run the baseline ([`Arch::Scalar`]) to check both agree.
pub(crate) use pulp::Arch;

/// The best instruction set this CPU has (std caches the detection; a call
/// reads that cache).
#[inline(always)]
pub(crate) fn best() -> Arch {
    Arch::new()
}

/// Runs `f` compiled for `arch`. `f` should be an `#[inline(always)]`
/// closure whose loops are themselves inlined, or only the call is
/// dispatched and the loop stays on the baseline.
#[inline(always)]
pub(crate) fn vectorized<R>(arch: Arch, f: impl FnOnce() -> R) -> R {
    arch.dispatch(f)
}
