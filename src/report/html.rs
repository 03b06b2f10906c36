//! stub
pub struct HtmlExporter;
impl super::Exporter for HtmlExporter {
    fn render(&self, _r: &super::RunReport) -> anyhow::Result<Vec<u8>> {
        Ok(vec![])
    }
}
