//! The workspace index: a Loro movable tree. (being written)
