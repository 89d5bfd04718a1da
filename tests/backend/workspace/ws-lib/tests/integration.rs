#[test]
fn collatz_of_27() {
    assert_eq!(ws_lib::collatz_steps(27), 111);
}
