"""Camera simulators: synthetic phone-screen frames with QR codes, video and image-folder sources."""
