//! Drawing a UPI intent as a QR code: unicode half blocks in the terminal, or a PNG file.

use std::path::Path;

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use crate::error::CliError;

fn code(data: &str) -> Result<QrCode, CliError> {
    QrCode::new(data.as_bytes())
        .map_err(|e| CliError::Internal(format!("cannot encode the QR code: {e}")))
}

/// The QR code as text, two modules per character cell, with a quiet zone.
pub(crate) fn to_terminal(data: &str) -> Result<String, CliError> {
    Ok(code(data)?
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// Checks before anything is sent that a PNG can be written at `path` (its folder exists).
pub(crate) fn check_png_path(path: &Path) -> Result<(), CliError> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if parent.is_dir() {
        Ok(())
    } else {
        Err(CliError::Sdk {
            provider: Some("bos"),
            follow_up: None,
            error: refund::Error::invalid_input(
                "png",
                format!("folder {} does not exist", parent.display()),
            ),
        })
    }
}

/// Writes the QR code as a PNG image.
pub(crate) fn write_png(data: &str, path: &Path) -> Result<(), CliError> {
    let image = code(data)?.render::<image::Luma<u8>>().min_dimensions(256, 256).build();
    image
        .save(path)
        .map_err(|e| CliError::Internal(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_and_writes() {
        let text = to_terminal("upi://pay?pa=x@y&am=10.00").unwrap_or_default();
        assert!(text.contains('▀') || text.contains('▄') || text.contains('█'));
        let dir = std::env::temp_dir().join(format!("refund-qr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let file = dir.join("qr.png");
        assert!(write_png("upi://pay?pa=x@y", &file).is_ok());
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(bytes.starts_with(b"\x89PNG"));
        assert!(check_png_path(&dir.join("nope").join("x.png")).is_err());
    }
}
