"""Files in and out (floor 2): images, videos and image sequences, and the folder of
frame JSONs a painted shot is kept in. Knows nothing of painting."""
