use std::time::Duration;
pub(super) fn parse(_text: &str) -> Result<Duration, String> {
    unimplemented!()
}
pub(super) fn format(_d: Duration) -> String {
    unimplemented!()
}
