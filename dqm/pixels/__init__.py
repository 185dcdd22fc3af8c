"""What the pixels of a slide say: artefacts, perceptual hashes, stain and acquisition descriptors.

Each module reads the low-resolution image the slide probe already holds; none opens a slide itself.
"""
