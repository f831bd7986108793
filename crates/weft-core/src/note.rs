//! Notes: Loro rich text. (being written)
