"""Serial and keyboard-wedge QR/barcode scanners: wire codec, wedge classifier, pty simulator."""
