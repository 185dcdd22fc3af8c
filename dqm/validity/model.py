"""The segmentation network: a 2-D MONAI U-Net family model, randomly initialised (no download)."""

from __future__ import annotations

from typing import Any

from dqm.validity.settings import BasicUNetConfig, NetworkConfig, SegResNetConfig, UNetConfig


def build_network(config: NetworkConfig, n_labels: int) -> Any:
    """A ``torch.nn.Module`` mapping ``(B, 3, H, W)`` RGB to ``(B, n_labels, H, W)`` logits."""
    from monai.networks.nets import BasicUNet, SegResNet, UNet

    if isinstance(config, UNetConfig):
        return UNet(
            spatial_dims=2,
            in_channels=3,
            out_channels=n_labels,
            channels=config.channels,
            strides=config.strides,
            num_res_units=config.res_units,
            dropout=config.dropout,
        )
    if isinstance(config, BasicUNetConfig):
        return BasicUNet(
            spatial_dims=2,
            in_channels=3,
            out_channels=n_labels,
            features=config.features,
            dropout=config.dropout,
        )
    if isinstance(config, SegResNetConfig):
        return SegResNet(
            spatial_dims=2,
            init_filters=config.init_filters,
            in_channels=3,
            out_channels=n_labels,
            blocks_down=config.blocks_down,
            blocks_up=config.blocks_up,
            dropout_prob=config.dropout or None,
        )
    raise TypeError(f"unknown network config {type(config).__name__}")
