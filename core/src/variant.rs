//! Which image graph runs, decided the same way on every boot of the same device: from the
//! CPU's instruction set and what the bundle's manifest records as measured on that instruction
//! set — never from how busy the machine was when the model loaded (unless the host asks for a
//! timed choice, [`crate::engine::VariantChoice::Timed`]).
//!
//! The manifest's `quantization.image_int8.measured` is a list of measurements, one per
//! [`CpuClass`], written at export:
//!
//! ```json
//! [{"cpu": "x86_64-avx512vnni", "runtime": "onnxruntime", "f32_ms": 3.2, "int8_ms": 2.3,
//!   "cpu_model": "AMD EPYC", "threads": 1}]
//! ```
//!
//! (`runtime` is the backend measured, [`crate::runtime::Backend::name`]; records without one
//! are tract's.) The rule ([`choose`]): without an int8 graph, f32. With one, the measurement
//! of this CPU's class on the engine's backend decides — int8 when it was at least [`INT8_MIN_GAIN`] faster. With no measurement for
//! the class, f32, the reference the model was validated in: int8 has to have been seen to pay
//! on a CPU of that class (on x86-64 with AVX-512 VNNI tract 0.23 runs the shipped int8 graph
//! 2–8× *slower* than f32, see the README's runtime table), and a guess from the instruction
//! set alone would be wrong there.

use serde::{Deserialize, Serialize};

/// Smallest relative gain for which the int8 graph is preferred over f32.
pub const INT8_MIN_GAIN: f64 = 0.10;

/// Which image graph runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Float32.
    F32,
    /// Integer int8.
    Int8,
}

impl Variant {
    /// `"f32"` or `"int8"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Int8 => "int8",
        }
    }
}

/// The instruction-set class of a CPU that decides how fast each variant runs: the widest
/// integer dot product and float vector unit tract's kernels use on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CpuClass {
    /// x86-64 with AVX-512 VNNI.
    X86Avx512Vnni,
    /// x86-64 with AVX-VNNI (256-bit), no AVX-512 VNNI.
    X86AvxVnni,
    /// x86-64 with AVX2 and FMA, no VNNI.
    X86Avx2,
    /// Other x86-64.
    X86,
    /// AArch64 with the `dotprod` extension.
    Aarch64Dotprod,
    /// Other AArch64.
    Aarch64,
    /// Any other architecture.
    Other,
}

impl CpuClass {
    /// Every class, widest first within an architecture.
    pub const ALL: [CpuClass; 7] = [
        Self::X86Avx512Vnni,
        Self::X86AvxVnni,
        Self::X86Avx2,
        Self::X86,
        Self::Aarch64Dotprod,
        Self::Aarch64,
        Self::Other,
    ];

    /// The class of the CPU this runs on (features detected at run time).
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512vnni") {
                return Self::X86Avx512Vnni;
            }
            if std::is_x86_feature_detected!("avxvnni") {
                return Self::X86AvxVnni;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Self::X86Avx2;
            }
            Self::X86
        }
        #[cfg(target_arch = "aarch64")]
        {
            if std::arch::is_aarch64_feature_detected!("dotprod") {
                return Self::Aarch64Dotprod;
            }
            Self::Aarch64
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            Self::Other
        }
    }

    /// The name manifests record, e.g. `"x86_64-avx512vnni"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::X86Avx512Vnni => "x86_64-avx512vnni",
            Self::X86AvxVnni => "x86_64-avxvnni",
            Self::X86Avx2 => "x86_64-avx2",
            Self::X86 => "x86_64",
            Self::Aarch64Dotprod => "aarch64-dotprod",
            Self::Aarch64 => "aarch64",
            Self::Other => "other",
        }
    }

    /// The class named `name` ([`CpuClass::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// One measurement of both image graphs on one CPU class, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// [`CpuClass::name`] of the CPU measured on.
    pub cpu: String,
    /// The backend measured ("tract" or "onnxruntime"); "tract" when absent (older records).
    #[serde(default = "tract")]
    pub runtime: String,
    /// Median image-graph time of the f32 variant, ms.
    pub f32_ms: f64,
    /// Median image-graph time of the int8 variant, ms.
    pub int8_ms: f64,
    /// The CPU's model name, for the reader.
    #[serde(default)]
    pub cpu_model: String,
    /// Threads per run.
    #[serde(default = "one")]
    pub threads: usize,
}

fn one() -> usize {
    1
}

fn tract() -> String {
    "tract".into()
}

/// The measurements recorded in a manifest's `quantization` value (none when absent or
/// malformed: a malformed list is ignored, with a warning, rather than refusing the model).
pub fn recorded(quantization: &serde_json::Value) -> Vec<Measured> {
    let Some(v) = quantization
        .get("image_int8")
        .and_then(|q| q.get("measured"))
    else {
        return Vec::new();
    };
    serde_json::from_value(v.clone()).unwrap_or_else(|e| {
        log::warn!("the manifest's int8 measurements are unreadable ({e}); ignoring them");
        Vec::new()
    })
}

/// A variant and why it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The variant.
    pub variant: Variant,
    /// Why, in one sentence (for `sb_engine_info` and the log).
    pub reason: String,
}

/// Whether int8 time `t8` is clearly below f32 time `t32` (by [`INT8_MIN_GAIN`]); a tie or a
/// gain within timing noise keeps f32, the reference.
pub fn prefer_int8(t32: f64, t8: f64) -> bool {
    t8 < t32 * (1.0 - INT8_MIN_GAIN)
}

/// The variant for a CPU of class `cpu` running `backend` ([`crate::runtime::Backend::name`])
/// given the bundle's measurements (see the module).
pub fn choose(cpu: CpuClass, backend: &str, has_int8: bool, measured: &[Measured]) -> Choice {
    if !has_int8 {
        return Choice {
            variant: Variant::F32,
            reason: "f32: the bundle has no int8 image graph".into(),
        };
    }
    if let Some(m) = measured
        .iter()
        .find(|m| m.cpu == cpu.name() && m.runtime == backend)
    {
        let int8 = prefer_int8(m.f32_ms, m.int8_ms);
        return Choice {
            variant: if int8 { Variant::Int8 } else { Variant::F32 },
            reason: format!(
                "{}: measured on {} with {backend} for this bundle, int8 {:.2} ms vs f32 {:.2} ms \
                 ({:.2}×){}",
                if int8 { "int8" } else { "f32" },
                cpu.name(),
                m.int8_ms,
                m.f32_ms,
                m.f32_ms / m.int8_ms.max(1e-9),
                if int8 {
                    ""
                } else {
                    "; int8 is not 10 % faster"
                }
            ),
        };
    }
    Choice {
        variant: Variant::F32,
        reason: format!(
            "f32: no int8 measurement for {} with {backend} in the bundle (int8 runs only where \
             it was measured faster)",
            cpu.name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(cpu: CpuClass, f32_ms: f64, int8_ms: f64) -> Measured {
        Measured {
            cpu: cpu.name().into(),
            runtime: "tract".into(),
            f32_ms,
            int8_ms,
            cpu_model: String::new(),
            threads: 1,
        }
    }

    #[test]
    fn int8_needs_a_clear_gain() {
        assert!(!prefer_int8(10.0, 10.0));
        assert!(!prefer_int8(10.0, 9.5), "5 % is within noise");
        assert!(prefer_int8(10.0, 8.5));
        assert!(!prefer_int8(10.0, 15.0));
    }

    #[test]
    fn the_measurement_of_this_class_decides() {
        let list = [
            m(CpuClass::X86Avx512Vnni, 7.0, 3.0),
            m(CpuClass::X86Avx2, 7.0, 9.0),
        ];
        let c = choose(CpuClass::X86Avx512Vnni, "tract", true, &list);
        assert_eq!(c.variant, Variant::Int8);
        assert!(
            c.reason.contains("x86_64-avx512vnni") && c.reason.contains("3.00 ms"),
            "{}",
            c.reason
        );
        let c = choose(CpuClass::X86Avx2, "tract", true, &list);
        assert_eq!(c.variant, Variant::F32);
        assert!(c.reason.contains("not 10 % faster"), "{}", c.reason);
        // A class measured nowhere runs the reference.
        assert_eq!(
            choose(CpuClass::Aarch64Dotprod, "tract", true, &list).variant,
            Variant::F32
        );
        assert_eq!(
            choose(CpuClass::X86, "tract", true, &list).variant,
            Variant::F32
        );
        // Another backend's measurement does not decide for this one.
        let c = choose(CpuClass::X86Avx512Vnni, "onnxruntime", true, &list);
        assert_eq!(c.variant, Variant::F32);
        assert!(c.reason.contains("with onnxruntime"), "{}", c.reason);
        let mut ort = m(CpuClass::X86Avx512Vnni, 3.2, 2.3);
        ort.runtime = "onnxruntime".into();
        let c = choose(CpuClass::X86Avx512Vnni, "onnxruntime", true, &[ort]);
        assert_eq!(c.variant, Variant::Int8);
        assert_eq!(
            choose(CpuClass::X86Avx512Vnni, "tract", false, &list).variant,
            Variant::F32
        );
    }

    #[test]
    fn the_choice_is_the_same_every_time() {
        let cpu = CpuClass::detect();
        let list = [m(cpu, 5.0, 4.0)];
        let first = choose(cpu, "tract", true, &list);
        for _ in 0..10 {
            assert_eq!(choose(cpu, "tract", true, &list), first);
        }
    }

    #[test]
    fn names_round_trip_and_bad_lists_are_ignored() {
        for c in CpuClass::ALL {
            assert_eq!(CpuClass::from_name(c.name()), Some(c));
        }
        assert_eq!(CpuClass::from_name("x86_64-sse9"), None);
        let q = serde_json::json!({"image_int8": {"measured": [{"cpu": "x86_64", "f32_ms": 1.0, "int8_ms": 2.0}]}});
        assert_eq!(recorded(&q).len(), 1);
        assert_eq!(recorded(&q)[0].threads, 1);
        assert_eq!(
            recorded(&q)[0].runtime,
            "tract",
            "older records are tract's"
        );
        let bad = serde_json::json!({"image_int8": {"measured": "fast"}});
        assert!(recorded(&bad).is_empty());
        assert!(recorded(&serde_json::json!({})).is_empty());
    }
}
