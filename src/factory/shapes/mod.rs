//! The factory's two shapes, compiled and run side by side: the same kinds and configs through
//! the sync registry and the async one make the same devices, or fail with the same errors.

mod async_shape;
mod sync_shape;

#[tokio::test]
async fn both_shapes_make_the_same_devices_and_the_same_errors() {
    let (sync_home, async_home) = (sync_shape::home(), async_shape::home());
    for (kind, name) in [("light", "kitchen"), ("light", "offline"), ("kettle", "k")] {
        // A device is compared by its answer, which carries its name.
        let made_sync = sync_home
            .create(kind, &sync_shape::Config { name: name.into() })
            .map(|device| device.send("on"));
        let config = async_shape::Config { name: name.into() };
        let made_async = match async_home.create(kind, &config).await {
            Ok(device) => Ok(device.send("on").await),
            Err(e) => Err(e),
        };
        assert_eq!(made_sync, made_async, "{kind} {name}");
    }
}
