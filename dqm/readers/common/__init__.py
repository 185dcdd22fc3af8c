"""What several annotation formats share; no module here is a format (those are the modules of
:mod:`dqm.readers` listed in its ``READERS`` table).

* :mod:`~dqm.readers.common.base`: the file-level read (bytes, encoding, JSON syntax), JSON
  pointers, a lesion as read, an unreadable annotation;
* :mod:`~dqm.readers.common.xmltree`: safe XML parsing (defusedxml) and XPath-like locations;
* :mod:`~dqm.readers.common.geojson`: GeoJSON coordinates (QuPath, DSA, and writing QuPath);
* :mod:`~dqm.readers.common.layers`: layers of regions with negative regions (ImageScope, HALO);
* :mod:`~dqm.readers.common.shapes`: rectangles, ellipses, splines, holes matched to shells;
* :mod:`~dqm.readers.common.rle`: COCO run-length encoded masks, decoded to polygons.
"""
