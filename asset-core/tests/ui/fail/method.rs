use asset_core::prelude::*;

#[derive(Table)]
pub struct Sessions(RecordBatch);

pub struct Source;

impl Source {
    #[asset]
    fn sessions(&self) -> Result<Sessions> {
        todo!()
    }
}

fn main() {}
