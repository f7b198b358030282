// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;

import { ERC721 } from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import { Ownable } from "@openzeppelin/contracts/access/Ownable.sol";

/// @title LegacyERC721
/// @notice A plain, pre-existing ERC-721 collection (not LayerZero-aware) that the devnet and tests
///         bridge through `CosmicONFT721Adapter`.
contract LegacyERC721 is ERC721, Ownable {
    string private _base;

    constructor(string memory _name, string memory _symbol, string memory _baseURI, address _owner)
        ERC721(_name, _symbol)
        Ownable(_owner)
    {
        _base = _baseURI;
    }

    function mint(address _to, uint256 _tokenId) external onlyOwner {
        _mint(_to, _tokenId);
    }

    function _baseURI() internal view override returns (string memory) {
        return _base;
    }
}
