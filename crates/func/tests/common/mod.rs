pub mod resnet_mini;
