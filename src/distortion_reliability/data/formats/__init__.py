"""On-disk formats, one module each: a function that opens one split as a :class:`~..base.SplitSource`.

- :mod:`.digits` -- scikit-learn's bundled 8x8 digits (no files)
- :mod:`.idx` -- MNIST-like raw IDX files (MNIST, Fashion-MNIST)
- :mod:`.cifar` -- CIFAR-10/100 python pickles, or an ImageFolder copy
- :mod:`.tiny_imagenet` -- ``tiny-imagenet-200``
- :mod:`.imagenette` -- fastai's ImageNette
- :mod:`.image_folder` -- a user's own ImageFolder tree
- :mod:`.files` -- image-file decoding and folder scanning shared by the folder formats
"""

from .cifar import open_cifar, read_cifar_pickles
from .digits import open_digits
from .files import IMAGE_EXTENSIONS, folder_source
from .idx import open_idx, read_idx
from .image_folder import image_folder_base, image_folder_split, open_image_folder
from .imagenette import IMAGENETTE_FOLDERS, open_imagenette
from .tiny_imagenet import open_tiny_imagenet

__all__ = [
    "IMAGENETTE_FOLDERS",
    "IMAGE_EXTENSIONS",
    "folder_source",
    "image_folder_base",
    "image_folder_split",
    "open_cifar",
    "open_digits",
    "open_idx",
    "open_image_folder",
    "open_imagenette",
    "open_tiny_imagenet",
    "read_cifar_pickles",
    "read_idx",
]
