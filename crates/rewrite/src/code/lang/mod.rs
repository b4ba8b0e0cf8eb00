//! One row per grammar: see `super::grammar`.

mod java;
mod kotlin;
mod python;
mod scala;

pub(super) use java::JAVA;
pub(super) use kotlin::KOTLIN;
pub(super) use python::PYTHON;
pub(super) use scala::SCALA;
