//! An `Rc` held across an `.await` makes the future `!Send`, so `tokio::spawn` refuses it.
use std::rc::Rc;

async fn tick() {}

fn main() {
    tokio::spawn(async {
        let shared = Rc::new(1);
        tick().await; // `shared` is still alive here, and `Rc` is not `Send`
        println!("{shared}");
    });
}
