//! Every protocol endpoint with arbitrary parameters, `Authorization` headers and cookies: the
//! server must answer below 500 and never panic. See `gatehouse::fuzzing`.
#![no_main]

use std::sync::LazyLock;

use gatehouse::fuzzing::Harness;
use libfuzzer_sys::fuzz_target;

static HARNESS: LazyLock<Harness> = LazyLock::new(Harness::new);

fuzz_target!(|data: &[u8]| HARNESS.http(data));
