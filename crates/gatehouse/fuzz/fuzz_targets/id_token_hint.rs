//! `id_token_hint` JWTs assembled from genuine and forged parts: none may verify but the
//! server's own. See `gatehouse::fuzzing`.
#![no_main]

use std::sync::LazyLock;

use gatehouse::fuzzing::Harness;
use libfuzzer_sys::fuzz_target;

static HARNESS: LazyLock<Harness> = LazyLock::new(Harness::new);

fuzz_target!(|data: &[u8]| HARNESS.id_token_hint(data));
