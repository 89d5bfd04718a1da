//! An integration test: ws-lib's C library and linkme slice, plus a slice element of its own.
use ws_lib::{GREETINGS, Greeting};

#[linkme::distributed_slice(GREETINGS)]
static FROM_TEST: Greeting = Greeting { name: "integration test", order: 2 };

#[test]
fn slice_and_c_library() {
    assert_eq!(ws_lib::greeting_names(), ["ws-lib", "integration test"]);
    assert_eq!(ws_lib::native_mix(1), 4);
}
