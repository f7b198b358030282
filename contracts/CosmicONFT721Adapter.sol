// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;

import { ONFT721Adapter } from "@layerzerolabs/onft-evm/contracts/onft721/ONFT721Adapter.sol";

/// @title CosmicONFT721Adapter
/// @notice Bridges an existing ERC-721 collection: locks the token in this contract on send and
///         unlocks it on receive. Holders must approve this adapter before sending.
contract CosmicONFT721Adapter is ONFT721Adapter {
    constructor(address _token, address _lzEndpoint, address _delegate) ONFT721Adapter(_token, _lzEndpoint, _delegate) {}
}
